/**
 * The first-cell environment: `forge`, `viz`, `datasets` (and `ambient`) loaded through the
 * kernel's own ESM `import` — tslab compiles cell imports to `require()`, which cannot load
 * vega / vega-lite 6 (top-level await) — then set as globals, and declared to tslab's type
 * checker as `typeof import("<abs path>")` — of the cached declaration build (type-surface.ts)
 * when there is one, else of the sources — so their types grow with the modules.
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { importModules } from "../bundled.js";

/** The repository root (kernel/cells/ is two levels below it). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface PreloadedModule {
  /** Global name in cells. */
  name: string;
  /** Source path relative to the repository root. */
  path: string;
  doc: string;
}

export const PRELOADED_MODULES: readonly PreloadedModule[] = [
  { name: "forge", path: "forge/index.ts", doc: "Workflow Forge: parse, compile and run workflows" },
  { name: "viz", path: "viz/index.ts", doc: "Vega-Lite charts of runs" },
  { name: "datasets", path: "datasets/index.ts", doc: "Arrow tables and files of runs" },
  { name: "agents", path: "agents/index.ts", doc: "the orchestration layer: agents, workflows, the tape" },
  { name: "ambient", path: "forge/session/ambient.ts", doc: "the running cell's AbortSignal and progress listener" },
];

/**
 * Declaration-side path: TypeScript resolves `x.js` to `x.ts` (the sources) or `x.d.ts` (the
 * declaration build in `surfaceDir`, laid out like the repository).
 */
function declarationPath(path: string, surfaceDir: string | null): string {
  return resolve(surfaceDir ?? REPO_ROOT, path).replace(/\.ts$/, ".js");
}

/**
 * The global declarations given to the cell type checker (a module file with `declare global`).
 * `surfaceDir`: a declaration build of the preloaded modules (type-surface.ts); null reads the sources.
 */
export function preludeDeclarations(surfaceDir: string | null = null): string {
  const lines = PRELOADED_MODULES.map(
    (m) => `  /** ${m.doc} */\n  const ${m.name}: typeof import(${JSON.stringify(declarationPath(m.path, surfaceDir))});`,
  );
  const api = JSON.stringify(declarationPath("kernel/output/cell-api.ts", surfaceDir));
  return [
    "declare global {",
    ...lines,
    `  /** Show a value (or a MIME bundle) as display_data; returns a handle to update it in place. */`,
    `  const display: import(${api}).DisplayFunction;`,
    `  /** Clear the cell's output (wait: clear when the next output arrives). */`,
    `  function clearOutput(wait?: boolean): void;`,
    `  /** Replace the output shown under a display id. */`,
    `  function updateDisplay(displayId: string, value: unknown): void;`,
    "}",
  ].join("\n");
}

export interface PreloadOutcome {
  modules: Record<string, unknown>;
  /** name → why it failed to load; the global then throws that reason on use. */
  failures: Record<string, string>;
}

/** Import the modules (in parallel) and install them as globals. */
export async function preloadModules(target: Record<string, unknown> = globalThis as Record<string, unknown>): Promise<PreloadOutcome> {
  const outcome: PreloadOutcome = { modules: {}, failures: {} };
  // The bundled modules when the kernel runs from its bundle: the same instances the kernel's own code uses.
  const results = await importModules(REPO_ROOT, PRELOADED_MODULES.map((m) => m.path));
  PRELOADED_MODULES.forEach((m, i) => {
    const result = results[i]!;
    if (result.status === "fulfilled") {
      outcome.modules[m.name] = result.value;
      target[m.name] = result.value;
    } else {
      const reason = `${m.name} (${m.path}) failed to load: ${(result.reason as Error).message}`;
      outcome.failures[m.name] = reason;
      target[m.name] = unavailableModule(reason);
    }
  });
  return outcome;
}

/** A stand-in for a module that failed to load: any use says why. */
function unavailableModule(reason: string): unknown {
  return new Proxy(
    {},
    {
      get(_t, prop) {
        if (typeof prop === "symbol") return undefined;
        throw new Error(reason);
      },
    },
  );
}
