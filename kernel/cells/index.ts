/** Cells: compiling and running TypeScript cells with tslab, the prelude of globals, cell syntax checks. */
export { CellExecutor, quickInfoText, type CellOutcome, type CompletionResult } from "./executor.js";
export { preloadModules, preludeDeclarations, PRELOADED_MODULES, REPO_ROOT, type PreloadedModule, type PreloadOutcome } from "./prelude.js";
export { checkCompleteness, pagerTarget, codePointToUtf16, utf16ToCodePoint, type Completeness } from "./syntax.js";
export { interruptedError, thrownError, diagnosticsError, type CellError, type CellDiagnostic } from "./errors.js";
export { tslabTypeScript, TSLAB_TYPESCRIPT_VERSION, type TslabConverter } from "./tslab.js";
export { buildTypeSurface, buildTypeSurfaceInBackground, cachedTypeSurface, cutOffHeavyImports, surfaceCacheRoot, KEPT_PACKAGES, OPAQUE_PREFIX, TypeSurfaceError, type TypeSurface } from "./type-surface.js";
export { startCheckerThread, type CheckerStages } from "./checker-thread.js";
export { startCellChecker, type CellChecker } from "./checker-start.js";
