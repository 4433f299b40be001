/**
 * Starting the cell type checker — the longest part of a kernel's start (TypeScript,
 * lib es2023, @types/node, the declarations of forge/viz/datasets, on its own thread). kernel/main.ts
 * starts it first thing, before loading the rest of the kernel.
 */
import { startCheckerThread, type CheckerStages } from "./checker-thread.js";
import { preludeDeclarations } from "./prelude.js";
import type { CellConverter } from "./compiler.js";
import { cachedTypeSurface, type TypeSurface } from "./type-surface.js";

export interface CellChecker {
  converter: Promise<CellConverter>;
  /** What the checker reads for forge/viz/datasets: the cached declaration build, or the sources. */
  reads: "type surface" | "sources";
  /** No up-to-date type surface was found (and FORGE_KERNEL_TYPE_SURFACE is not 0): build one for the next start. */
  surfaceMissing: boolean;
  /** When the checker thread's stages ended (ms since the process started); resolves with the converter. */
  stages: Promise<CheckerStages>;
}

export function startCellChecker(): CellChecker {
  // The cached declaration build of forge/viz/datasets when it is up to date (seconds faster
  // to read); otherwise the sources.
  let surface: TypeSurface | null = null;
  let surfaceMissing = false;
  if (process.env.FORGE_KERNEL_TYPE_SURFACE !== "0") {
    surface = cachedTypeSurface();
    surfaceMissing = surface === null;
  }
  let reportStages: (stages: CheckerStages) => void = () => undefined;
  const stages = new Promise<CheckerStages>((resolve) => (reportStages = resolve));
  const converter = startCheckerThread(preludeDeclarations(surface?.dir ?? null), reportStages);
  converter.catch(() => undefined); // awaited by the kernel when it prepares its executor: not unhandled meanwhile
  return { converter, reads: surface ? "type surface" : "sources", surfaceMissing, stages };
}
