/**
 * tslab's TypeScript converter and executor, loaded from its CommonJS build.
 * Only the parts the kernel calls are typed here (tslab ships its own .d.ts, but those pull
 * in its private TypeScript fork's types, which the project's compiler need not see).
 */
import { createRequire } from "node:module";
import { requireWithCodeCache, type SourcePatch } from "./code-cache.js";

const require = createRequire(import.meta.url);

export interface TslabDiagnosticPos {
  offset: number;
  line: number;
  character: number;
}

export interface TslabCompletion {
  start: number;
  end: number;
  candidates: string[];
}

export interface TsDisplayPart {
  text: string;
  kind: string;
}

/** TypeScript's QuickInfo, the fields we read. */
export interface TsQuickInfo {
  kind: string;
  textSpan: { start: number; length: number };
  displayParts?: TsDisplayPart[];
  documentation?: TsDisplayPart[];
  tags?: { name: string; text?: TsDisplayPart[] }[];
}

export interface TslabConverter {
  convert(prevDecl: string, src: string): unknown;
  inspect(prevDecl: string, src: string, position: number): TsQuickInfo | undefined;
  complete(prevDecl: string, src: string, position: number): TslabCompletion;
  close(): void;
  addModule(name: string, content: string): { start: TslabDiagnosticPos; messageText: string }[];
}

export interface TslabExecutor {
  execute(src: string): Promise<boolean>;
  inspect(src: string, position: number): TsQuickInfo | undefined;
  complete(src: string, position: number): TslabCompletion;
  reset(): void;
  interrupt(): void;
  locals: Record<string, unknown>;
  close(): void;
}

/** What tslab's executor reports through: `log` gets a cell's last expression value, `error` its failures. */
export interface TslabConsole {
  log(value?: unknown, ...rest: unknown[]): void;
  error(value?: unknown, ...rest: unknown[]): void;
}

export interface TslabConverterSet {
  node: TslabConverter;
  browser: TslabConverter;
  close(): void;
}

interface ConverterModule {
  createConverter(options?: { isJS?: boolean; isBrowser?: boolean }): TslabConverter;
  isCompleteCode(content: string): { completed: boolean; indent?: string };
}

interface ExecutorModule {
  createExecutor(rootDir: string, convs: TslabConverterSet, console: TslabConsole): TslabExecutor;
}

/** Minimal view of the TypeScript build tslab bundles (used to parse cells for is_complete). */
export interface TslabTypeScript {
  version: string;
  createSourceFile(name: string, text: string, target: number, setParents?: boolean, kind?: number): {
    parseDiagnostics?: { start: number; length: number; messageText: string | { messageText: string } }[];
  };
  ScriptTarget: { Latest: number };
  ScriptKind: { TS: number };
}

// The executor and the converter load TypeScript (0.3–1 s of CPU): only on first use, so that
// the kernel's main thread answers kernel_info without it (the type checker runs on its own thread).
const requireFromConverter = createRequire(require.resolve("tslab/dist/converter"));
let executorModule: ExecutorModule | null = null;
let converterModule: ConverterModule | null = null;
let typeScriptModule: TslabTypeScript | null = null;

/** tslab's executor module (loaded on first call). */
export function tslabExecutor(): ExecutorModule {
  tslabTypeScript(); // first, so that tslab requires this instance
  return (executorModule ??= require("tslab/dist/executor") as ExecutorModule);
}

/** tslab's converter module (loaded on first call). */
export function tslabConverter(): ConverterModule {
  tslabTypeScript(); // first, so that tslab requires this instance
  return (converterModule ??= require("tslab/dist/converter") as ConverterModule);
}

/**
 * TypeScript 5.0's declaration emit crashes ("Debug Failure. False expression: Paths must either
 * both be absolute or both be relative", microsoft/TypeScript#54057 and #54060, fixed after 5.0)
 * when a variable's inferred type needs an import and its initializer nests awaits, e.g.
 * `const r = await (await forge.defaultSession()).request(…)`: the checker names the type from a
 * copy of the cell's source file that lost its `path`, and computes a module specifier relative to
 * "". tslab's converter emits declarations for every cell, so such a cell could not run. The
 * copy's `path` is restored from its (absolute) file name before the specifier is computed.
 */
export const TYPESCRIPT_CONTEXT_FILE_PATCH: SourcePatch = {
  id: "context-file-path-1",
  apply(source: string): string {
    const original = "const contextFile = getSourceFileOfNode(getOriginalNode(context.enclosingDeclaration));";
    const patched = "const contextFile = ((f) => f && !f.path && f.fileName ? Object.assign(f, { path: f.fileName }) : f)(getSourceFileOfNode(getOriginalNode(context.enclosingDeclaration)));";
    return source.split(original).join(patched);
  },
};

/** The TypeScript build tslab bundles (loaded on first call, with V8's code cache: code-cache.ts). */
export function tslabTypeScript(): TslabTypeScript {
  return (typeScriptModule ??= requireWithCodeCache(require.resolve("tslab/dist/converter"), "@tslab/typescript-for-tslab", TYPESCRIPT_CONTEXT_FILE_PATCH) as TslabTypeScript);
}

/** That TypeScript's version, read without loading it. */
export const TSLAB_TYPESCRIPT_VERSION = (requireFromConverter("@tslab/typescript-for-tslab/package.json") as { version: string }).version;
