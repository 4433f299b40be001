/**
 * CommonJS modules loaded with V8's code cache. tslab's TypeScript is 9 MB of JavaScript that V8
 * compiles on every kernel start — on both threads, the checker's and the main one (tslab's
 * executor needs it too) — and then compiles function by function as the checker first runs.
 * Node 20 has no compile cache (22 has module.enableCompileCache), so such a module is loaded
 * here as Node's CommonJS loader would load it, but through vm.Script with cached data from
 * node_modules/.cache/forge-kernel/v8/ (FORGE_KERNEL_CACHE moves it). saveCodeCaches() writes
 * the cache after a start that had none (or whose cache V8 rejected: another Node, another
 * build of the module): made once the thread has done its work, it holds the functions that
 * work compiled too.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import Module, { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { Script } from "node:vm";
import { REPO_ROOT } from "./prelude.js";

/** Where code caches are kept. */
export function codeCacheDir(): string {
  return resolve(process.env.FORGE_KERNEL_CACHE ?? join(REPO_ROOT, "node_modules", ".cache", "forge-kernel"), "v8");
}

/** A change made to a module's source before it is compiled (the id keys its code cache). */
export interface SourcePatch {
  id: string;
  apply(source: string): string;
}

/** Scripts compiled without a usable cache, and the file their cache goes to. */
const unsaved: { script: Script; file: string }[] = [];

/** Node's CommonJS loader, the parts it does not type. */
type ModuleClass = typeof Module & {
  new (id: string, parent?: unknown): NodeJS.Module;
  _nodeModulePaths(dir: string): string[];
  wrap(source: string): string;
};

/**
 * `require(specifier)` as `from` would require it, compiled with V8's code cache. The module goes
 * into require's cache, so that other modules requiring it get this instance.
 */
export function requireWithCodeCache(from: string, specifier: string, patch?: SourcePatch): unknown {
  const fromRequire = createRequire(from);
  const filename = fromRequire.resolve(specifier);
  const loaded = fromRequire.cache[filename];
  if (loaded) return loaded.exports;
  const stat = statSync(filename);
  const key = createHash("sha256").update(`${filename}\0${stat.size}\0${stat.mtimeMs}\0${process.version}\0${process.arch}\0${patch?.id ?? ""}`).digest("hex").slice(0, 16);
  const file = join(codeCacheDir(), `${key}.bin`);
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(file);
  } catch {
    // none yet: compiled from scratch, and the cache written by saveCodeCaches()
  }
  const ModuleCtor = Module as ModuleClass;
  const source = readFileSync(filename, "utf8");
  const script = new Script(ModuleCtor.wrap(patch ? patch.apply(source) : source), { filename, cachedData });
  if (cachedData === undefined || script.cachedDataRejected) unsaved.push({ script, file });
  const module = new ModuleCtor(filename);
  module.filename = filename;
  module.paths = ModuleCtor._nodeModulePaths(dirname(filename));
  fromRequire.cache[filename] = module;
  try {
    const wrapper = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: NodeJS.Module, filename: string, dirname: string) => void;
    wrapper.call(module.exports, module.exports, createRequire(filename), module, filename, dirname(filename));
  } catch (e) {
    delete fromRequire.cache[filename];
    throw e;
  }
  module.loaded = true;
  return module.exports;
}

/** Write the code caches that were missing or rejected (best effort: a cache that cannot be written is not needed). */
export function saveCodeCaches(): void {
  for (const { script, file } of unsaved.splice(0)) {
    try {
      mkdirSync(dirname(file), { recursive: true });
      const staging = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
      writeFileSync(staging, script.createCachedData());
      renameSync(staging, file); // atomic: another kernel reads the whole cache or none
    } catch {
      // read-only cache folder: every start compiles
    }
  }
}
