/**
 * The project's TypeScript (node_modules/typescript, the version the repository builds with),
 * which type-checks, completes and compiles cells. Loaded with V8's code cache (code-cache.ts):
 * it is 9 MB of JavaScript that V8 would otherwise compile on every kernel start.
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import type * as TypeScript from "typescript";
import { requireWithCodeCache } from "./code-cache.js";
import { REPO_ROOT } from "./prelude.js";

export type TypeScriptApi = typeof TypeScript;

const fromRepo = join(REPO_ROOT, "package.json");
let loaded: TypeScriptApi | null = null;

/** The project's TypeScript (loaded on first call). */
export function cellTypeScript(): TypeScriptApi {
  return (loaded ??= requireWithCodeCache(fromRepo, "typescript") as TypeScriptApi);
}

/** That TypeScript's version, read without loading it. */
export const CELL_TYPESCRIPT_VERSION = (createRequire(fromRepo)("typescript/package.json") as { version: string }).version;
