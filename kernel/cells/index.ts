/** Cells: compiling (the project's TypeScript) and running TypeScript cells, the prelude of globals, cell syntax checks. */
export { CellExecutor, quickInfoText, type CellOutcome, type CompletionResult } from "./executor.js";
export { preloadModules, preludeDeclarations, PRELOADED_MODULES, REPO_ROOT, type PreloadedModule, type PreloadOutcome } from "./prelude.js";
export { checkCompleteness, pagerTarget, codePointToUtf16, utf16ToCodePoint, type Completeness } from "./syntax.js";
export { interruptedError, thrownError, diagnosticsError, type CellError, type CellDiagnostic } from "./errors.js";
export { cellTypeScript, CELL_TYPESCRIPT_VERSION, type TypeScriptApi } from "./typescript.js";
export { createCellCompiler, type CellConverter, type CompiledCell, type CellCompletion, type TsQuickInfo } from "./compiler.js";
export { cellFileName, installStackMapping, isCellFrame, registerCellMap } from "./stack.js";
export { tslabModule, TSLAB_DECLARATIONS } from "./tslab-compat.js";
export { buildTypeSurface, buildTypeSurfaceInBackground, cachedTypeSurface, cutOffHeavyImports, surfaceCacheRoot, KEPT_PACKAGES, OPAQUE_PREFIX, TypeSurfaceError, type TypeSurface } from "./type-surface.js";
export { startCheckerThread, type CheckerStages } from "./checker-thread.js";
export { startCellChecker, type CellChecker } from "./checker-start.js";
