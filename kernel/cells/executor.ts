/**
 * Running cells with tslab's converter and executor: the converter type-checks and compiles a
 * cell against the previous cells' declarations plus the prelude; the executor runs it in this
 * process (top-level await allowed). tslab reports through a console object — `log` receives
 * the last expression's value, `error` a failure — which we turn into a CellOutcome.
 */
import { expandShorthandProperties } from "./shorthand.js";
import { preludeDeclarations, REPO_ROOT } from "./prelude.js";
import { diagnosticsError, interruptedError, parseTslabDiagnostic, thrownError, type CellDiagnostic, type CellError } from "./errors.js";
import { tslabConverter, tslabExecutor, type TsQuickInfo, type TslabConverter, type TslabExecutor } from "./tslab.js";

export type CellOutcome =
  | { status: "ok"; hasValue: boolean; value: unknown }
  | { status: "error"; error: CellError };

/** Messages tslab uses for a cell it stopped: its own interrupt, and vm's SIGINT break. */
function isInterruption(thrown: unknown): boolean {
  return thrown instanceof Error && /^Interrupted asynchronously$|Script execution was interrupted/.test(thrown.message);
}

export interface CompletionResult {
  matches: string[];
  /** UTF-16 offsets into the cell. */
  start: number;
  end: number;
}

export class CellExecutor {
  private readonly executor: TslabExecutor;
  private readonly converter: TslabConverter;
  private report: { hasValue: boolean; value: unknown; diagnostics: CellDiagnostic[]; thrown: unknown[] } | null = null;

  /**
   * Building the converter loads TypeScript and the lib declarations: hundreds of ms.
   * `surfaceDir`: the cached declaration build of the preloaded modules (type-surface.ts), which
   * the checker reads in a fraction of the time the sources take; null reads the sources.
   * `converter`: one already built with the prelude (checker-thread.ts: on a worker thread).
   */
  constructor(rootDir: string = process.cwd(), options: { surfaceDir?: string | null; converter?: TslabConverter } = {}) {
    this.converter = options.converter ?? CellExecutor.buildConverter(preludeDeclarations(options.surfaceDir ?? null));
    const converters = { node: this.converter, browser: this.converter, close: () => this.converter.close() };
    this.executor = tslabExecutor().createExecutor(rootDir, converters, {
      log: (value) => {
        if (this.report) {
          this.report.hasValue = true;
          this.report.value = value;
        }
      },
      error: (...args) => {
        const diagnostic = parseTslabDiagnostic(args);
        if (diagnostic) this.report?.diagnostics.push(diagnostic);
        else this.report?.thrown.push(args[0]);
      },
    });
  }

  /** Load tslab's executor (and with it TypeScript, on this thread) ahead of the constructor. */
  static loadTslab(): void {
    tslabExecutor();
  }

  /** Build tslab's converter on this thread, with the prelude's global declarations. */
  static buildConverter(prelude: string): TslabConverter {
    // The converter type-checks as if the cell lived in its working directory, and refuses
    // sources outside it ("not under rootDir"). The preloaded modules live in the repository,
    // and notebooks usually elsewhere: build it from the repository root, run cells from rootDir.
    const notebookDir = process.cwd();
    process.chdir(REPO_ROOT);
    let converter: TslabConverter;
    try {
      converter = tslabConverter().createConverter({ isJS: false, isBrowser: false });
    } finally {
      process.chdir(notebookDir);
    }
    const problems = converter.addModule("__forge_prelude__", prelude);
    if (problems.length > 0) {
      throw new Error(`the cell prelude does not type-check: ${problems.map((p) => p.messageText).join("; ")}`);
    }
    return converter;
  }

  /** Run one cell. `interrupted` tells whether the kernel asked it to stop (for the error's wording). */
  async run(code: string): Promise<CellOutcome> {
    this.report = { hasValue: false, value: undefined, diagnostics: [], thrown: [] };
    const report = this.report;
    try {
      await this.executor.execute(expandShorthandProperties(code));
    } finally {
      this.report = null;
    }
    if (report.diagnostics.length > 0) return { status: "error", error: diagnosticsError(report.diagnostics) };
    if (report.thrown.length > 0) {
      const thrown = report.thrown[0];
      if (isInterruption(thrown)) return { status: "error", error: interruptedError("the cell was stopped before it finished") };
      return { status: "error", error: thrownError(thrown) };
    }
    return { status: "ok", hasValue: report.hasValue, value: report.value };
  }

  /** Stop waiting for the running cell's promise (it rejects with tslab's interruption). */
  forceInterrupt(): void {
    this.executor.interrupt();
  }

  complete(code: string, cursor: number): CompletionResult {
    const info = this.executor.complete(code, cursor);
    return { matches: info.candidates, start: info.start, end: info.end };
  }

  inspect(code: string, cursor: number): TsQuickInfo | undefined {
    return this.executor.inspect(code, cursor);
  }

  close(): void {
    this.executor.close();
  }
}

/** Quick info as text: the signature, then the documentation and tags. */
export function quickInfoText(info: TsQuickInfo): string {
  const signature = (info.displayParts ?? []).map((p) => p.text).join("");
  const docs = (info.documentation ?? []).map((p) => p.text).join("");
  const tags = (info.tags ?? []).map((t) => `@${t.name} ${(t.text ?? []).map((p) => p.text).join("")}`.trim());
  return [signature, docs, ...tags].filter((s) => s !== "").join("\n\n");
}
