/**
 * Running cells: the converter (compiler.ts, on the checker's thread) type-checks and compiles a
 * cell; it runs here as a vm script named after the cell (`<cell-3>`, whose frames stack.ts maps
 * back to the cell), in an async function (top-level await), with the cells' variables in one
 * store object that later cells read. `require` resolves from the notebook's folder, and
 * `require("tslab")` is the kernel's tslab-compatible display API (tslab-compat.ts).
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import { Script } from "node:vm";
import { CELL_RESULT_PARAM, type CellConverter, type TsQuickInfo } from "./compiler.js";
import { diagnosticsError, interruptedError, thrownError, type CellError } from "./errors.js";
import { cellFileName, registerCellMap } from "./stack.js";
import { tslabModule } from "./tslab-compat.js";

export type CellOutcome =
  | { status: "ok"; hasValue: boolean; value: unknown }
  | { status: "error"; error: CellError };

export interface CompletionResult {
  matches: string[];
  /** UTF-16 offsets into the cell. */
  start: number;
  end: number;
}

/** Messages for a cell that was stopped: the executor's own interrupt, and vm's SIGINT break. */
const INTERRUPTED = "Interrupted asynchronously";
function isInterruption(thrown: unknown): boolean {
  return thrown instanceof Error && (thrown.message === INTERRUPTED || /Script execution was interrupted/.test(thrown.message));
}

/** Where a cell's script finds its arguments (a global: vm scripts see only globals). */
const ARGS_GLOBAL = "__forge_cell_args__";
/** The script's first line; the compiled cell starts on the next (stack.ts maps from there). */
const SCRIPT_PREFIX = `(async function (exports, require, ${CELL_RESULT_PARAM}) {`;
const SCRIPT_SUFFIX = `\n})(${ARGS_GLOBAL}.exports, ${ARGS_GLOBAL}.require, ${ARGS_GLOBAL}.cell)`;

/**
 * The store of the cells' variables. Compiled cells export their names into it; an imported
 * name is exported as a getter (`Object.defineProperty`), kept here as its value so that later
 * cells may assign it.
 */
function createStore(): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  return new Proxy(values, {
    defineProperty: (_target, property, attributes) => {
      if (property === "__esModule") return true;
      values[property as string] = attributes.get ? attributes.get() : attributes.value;
      return true;
    },
  });
}

export class CellExecutor {
  private readonly converter: CellConverter;
  private readonly store = createStore();
  private readonly args: { exports: Record<string, unknown>; require: NodeJS.Require; cell: { value?: unknown } };
  private runs = 0;
  private rejectInterrupt: (reason: Error) => void = () => undefined;
  private interruption!: Promise<never>;

  /**
   * `rootDir`: where cells' `require` resolves from (the notebook's folder).
   * `converter`: the cell compiler (checker-thread.ts: on its worker thread).
   */
  constructor(rootDir: string = process.cwd(), options: { converter: CellConverter }) {
    this.converter = options.converter;
    const base = createRequire(join(rootDir, "notebook.js"));
    const cellRequire = ((id: string) => (id === "tslab" ? tslabModule() : base(id))) as NodeJS.Require;
    Object.assign(cellRequire, { resolve: base.resolve, cache: base.cache, main: base.main, extensions: base.extensions });
    this.args = { exports: this.store, require: cellRequire, cell: {} };
    Object.defineProperty(globalThis, ARGS_GLOBAL, { value: this.args, configurable: true, enumerable: false, writable: false });
    this.resetInterruption();
  }

  private resetInterruption(): void {
    this.interruption = new Promise<never>((_, reject) => (this.rejectInterrupt = reject));
    this.interruption.catch(() => undefined);
  }

  /** Run one cell; `count` names it (`<cell-<count>>`) in diagnostics and stack traces. */
  async run(code: string, count: number = ++this.runs): Promise<CellOutcome> {
    const fileName = cellFileName(count);
    const compiled = this.converter.convert(code);
    if (!compiled.ok) return { status: "error", error: diagnosticsError(compiled.diagnostics, fileName) };
    registerCellMap(fileName, compiled.map, 1);
    const cell: { value?: unknown } = {};
    this.args.cell = cell;
    try {
      const script = new Script(`${SCRIPT_PREFIX}\n${compiled.js}${SCRIPT_SUFFIX}`, { filename: fileName });
      // displayErrors off: Node would prefix a stack with the compiled line the error came from.
      const running = script.runInThisContext({ breakOnSigint: true, displayErrors: false }) as Promise<unknown>;
      await Promise.race([running, this.interruption]);
    } catch (thrown) {
      if (isInterruption(thrown)) return { status: "error", error: interruptedError("the cell was stopped before it finished") };
      return { status: "error", error: thrownError(thrown) };
    }
    this.converter.accept(compiled.id);
    return { status: "ok", hasValue: "value" in cell, value: cell.value };
  }

  /** Stop waiting for the running cell's promise (it reports an interruption). */
  forceInterrupt(): void {
    this.rejectInterrupt(new Error(INTERRUPTED));
    this.resetInterruption();
  }

  complete(code: string, cursor: number): CompletionResult {
    const info = this.converter.complete(code, cursor);
    return { matches: info.candidates, start: info.start, end: info.end };
  }

  inspect(code: string, cursor: number): TsQuickInfo | undefined {
    return this.converter.inspect(code, cursor);
  }

  close(): void {
    this.converter.close();
  }
}

/** Quick info as text: the signature, then the documentation and tags. */
export function quickInfoText(info: TsQuickInfo): string {
  const signature = (info.displayParts ?? []).map((p) => p.text).join("");
  const docs = (info.documentation ?? []).map((p) => p.text).join("");
  const tags = (info.tags ?? []).map((t) => `@${t.name} ${(t.text ?? []).map((p) => p.text).join("")}`.trim());
  return [signature, docs, ...tags].filter((s) => s !== "").join("\n\n");
}
