/**
 * The cell prelude's type surface: a declaration-only build of the preloaded modules, cached
 * on disk, for tslab's type checker to read instead of the sources.
 *
 * Why: declaring `forge` as `typeof import("<repo>/forge/index.js")` makes the checker parse
 * every forge source and every third-party declaration forge reaches (tfjs alone is ≈ 1.3 MB
 * of .d.ts; fastify, bullmq/ioredis, zod, @webgpu follow) — most of the kernel's cold start.
 * The surface is what `tsc --declaration --emitDeclarationOnly` gives for the preloaded entry
 * points, with the heavy packages cut off: their imports are rewritten to
 * `forge-opaque:<package>` modules, declared as shorthand ambient modules, so those types read
 * as `any` in cells (a cell that imports such a package itself still gets its real types).
 *
 * The build takes seconds (TypeScript reads everything once); it is keyed by the sources'
 * paths, sizes and modification times, so it is redone only after forge/viz/datasets change.
 *   buildTypeSurface()      build now (install, bench), or reuse the cached one
 *   cachedTypeSurface()     the up-to-date surface, or null (then the kernel reads the sources)
 *   npx tsx kernel/cells/type-surface.ts   build from the command line (the kernel runs this
 *                           in the background after a start that found no surface)
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { setPriority } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { PRELOADED_MODULES, REPO_ROOT } from "./prelude.js";

/** Entry points declared to cells: the preloaded modules and the display API. */
export const SURFACE_ENTRIES: readonly string[] = [...PRELOADED_MODULES.map((m) => m.path), "kernel/output/cell-api.ts"];

/** Folders whose sources the surface is built from (a change in any of them rebuilds it). */
const SOURCE_FOLDERS = ["forge", "viz", "datasets", "kernel/output"];

/**
 * Third-party packages whose types stay in the surface (cheap to load, and what cells work with:
 * Arrow tables from `datasets`, Vega-Lite specs from `viz`). Node's builtins stay too. Every
 * other package becomes opaque (`any`).
 */
export const KEPT_PACKAGES: readonly string[] = ["apache-arrow", "vega-lite", "jsep"];

/** Bumped when the build's output changes shape, so old caches are not reused. */
const SURFACE_FORMAT = 1;

export const OPAQUE_PREFIX = "forge-opaque:";
const OPAQUE_FILE = "__opaque__.d.ts";
const COMPLETE_MARKER = "surface.json";

export interface TypeSurface {
  /** Folder holding the declarations, laid out like the repository (forge/index.d.ts, …). */
  dir: string;
  /** Packages cut off to `any`. */
  opaque: string[];
}

export class TypeSurfaceError extends Error {
  override name = "TypeSurfaceError";
}

/** Where surfaces are cached (FORGE_KERNEL_CACHE, default <repo>/node_modules/.cache/forge-kernel). */
export function surfaceCacheRoot(): string {
  return resolve(process.env.FORGE_KERNEL_CACHE ?? join(REPO_ROOT, "node_modules", ".cache", "forge-kernel"), "types");
}

function listSources(folder: string, into: string[]): void {
  let entries;
  try {
    entries = readdirSync(folder, { withFileTypes: true });
  } catch {
    return; // a folder that does not exist contributes nothing
  }
  for (const entry of entries) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) listSources(path, into);
    else if (entry.name.endsWith(".ts")) into.push(path);
  }
}

/** The cache key: every source's path, size and mtime, plus the build's own settings. */
export function surfaceKey(): string {
  const files: string[] = [];
  for (const folder of SOURCE_FOLDERS) listSources(join(REPO_ROOT, folder), files);
  const hash = createHash("sha256");
  hash.update(JSON.stringify({ SURFACE_FORMAT, KEPT_PACKAGES, SURFACE_ENTRIES }));
  for (const file of files.sort()) {
    const stat = statSync(file);
    hash.update(`${relative(REPO_ROOT, file)}\0${stat.size}\0${stat.mtimeMs}\n`);
  }
  return hash.digest("hex").slice(0, 16);
}

/** The surface for the current sources, if it has been built; null otherwise. */
export function cachedTypeSurface(key: string = surfaceKey()): TypeSurface | null {
  const dir = join(surfaceCacheRoot(), key);
  try {
    const meta = JSON.parse(readFileSync(join(dir, COMPLETE_MARKER), "utf8")) as { opaque: string[] };
    return { dir, opaque: meta.opaque };
  } catch {
    return null;
  }
}

/** Is `specifier` a package (not a relative or absolute path), and which one? */
function packageOf(specifier: string): string | null {
  if (specifier.startsWith(".") || specifier.startsWith("/") || specifier.startsWith("node:")) return null;
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

/** Rewrite imports of packages not kept to their opaque stand-ins; returns the packages cut off. */
export function cutOffHeavyImports(declarations: string, opaque: Set<string>): string {
  // `from "x"`, `import "x"`, `import("x")` in declaration files (the only forms tsc emits).
  return declarations.replace(/(\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)(["'])([^"']+)\2/g, (whole, lead: string, quote: string, specifier: string) => {
    const pkg = packageOf(specifier);
    if (pkg === null || KEPT_PACKAGES.includes(pkg) || isNodeBuiltin(specifier)) return whole;
    opaque.add(specifier);
    return `${lead}${quote}${OPAQUE_PREFIX}${specifier}${quote}`;
  });
}

const require = createRequire(import.meta.url);
const BUILTINS = new Set((require("node:module") as typeof import("node:module")).builtinModules);
function isNodeBuiltin(specifier: string): boolean {
  return BUILTINS.has(specifier) || BUILTINS.has(specifier.split("/")[0]!);
}

/**
 * Build the surface (or return the cached one). Synchronous and CPU-heavy: seconds.
 * Throws TypeSurfaceError when TypeScript cannot emit the declarations.
 */
export async function buildTypeSurface(options: { force?: boolean } = {}): Promise<TypeSurface> {
  const key = surfaceKey();
  if (!options.force) {
    const cached = cachedTypeSurface(key);
    if (cached) return cached;
  }
  const ts = (await import("typescript")).default;
  const root = surfaceCacheRoot();
  const dir = join(root, key);
  // Build next to the final folder, then rename: a concurrent kernel never sees half a surface.
  const staging = `${dir}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    const program = ts.createProgram(
      SURFACE_ENTRIES.map((p) => join(REPO_ROOT, p)),
      {
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        lib: ["lib.es2023.d.ts", "lib.dom.d.ts"],
        types: ["node"],
        strict: true,
        esModuleInterop: true,
        skipLibCheck: true,
        resolveJsonModule: true,
        declaration: true,
        emitDeclarationOnly: true,
        // The declarations only: the sources are type-checked by the project's own tsc run.
        noCheck: true,
        rootDir: REPO_ROOT,
        outDir: staging,
      },
    );
    const opaque = new Set<string>();
    const written: string[] = [];
    const result = program.emit(undefined, (fileName, text) => {
      if (!fileName.endsWith(".d.ts")) return;
      const cut = new Set<string>();
      let out = cutOffHeavyImports(text, cut);
      if (cut.size > 0) {
        // The opaque modules are declared in one script file; each file that uses one points to it.
        const ref = relative(dirname(fileName), join(staging, OPAQUE_FILE)).replaceAll("\\", "/");
        out = `/// <reference path="${ref}" />\n${out}`;
        for (const c of cut) opaque.add(c);
      }
      mkdirSync(dirname(fileName), { recursive: true });
      writeFileSync(fileName, out);
      written.push(fileName);
    });
    const errors = result.diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
    if (errors.length > 0 || written.length === 0) {
      const first = errors[0];
      const where = first?.file ? `${relative(REPO_ROOT, first.file.fileName)}: ` : "";
      throw new TypeSurfaceError(`declaration build failed: ${where}${first ? ts.flattenDiagnosticMessageText(first.messageText, "; ") : "nothing emitted"}`);
    }
    const sorted = [...opaque].sort();
    writeFileSync(
      join(staging, OPAQUE_FILE),
      [
        "// Packages cut off from the cell type surface: everything imported from them reads as `any`.",
        ...sorted.map((s) => `declare module ${JSON.stringify(OPAQUE_PREFIX + s)};`),
        "",
      ].join("\n"),
    );
    writeFileSync(join(staging, COMPLETE_MARKER), JSON.stringify({ key, opaque: sorted, files: written.length }));
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
    pruneOldSurfaces(root, key);
    return { dir, opaque: sorted };
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
}

/** Drop surfaces of earlier sources once no kernel started in the last day can be reading them. */
function pruneOldSurfaces(root: string, keep: string): void {
  const dayAgo = Date.now() - 24 * 3600_000;
  for (const name of readdirSync(root)) {
    const path = join(root, name);
    if (name === keep || name === "building.lock" || statSync(path).mtimeMs > dayAgo) continue;
    rmSync(path, { recursive: true, force: true });
  }
}

/**
 * Build the surface in a detached background process (after a kernel start that found none),
 * so that the next start is fast; this start goes on with the sources.
 */
export function buildTypeSurfaceInBackground(): void {
  // One builder at a time (kernels started together would each start one): a lock folder,
  // taken over when older than the longest build.
  const lock = join(surfaceCacheRoot(), "building.lock");
  try {
    mkdirSync(surfaceCacheRoot(), { recursive: true });
    const held = statSync(lock, { throwIfNoEntry: false });
    if (held && Date.now() - held.mtimeMs > 10 * 60_000) rmSync(lock, { recursive: true, force: true });
    mkdirSync(lock);
  } catch {
    return; // another kernel is building it, or the cache cannot be written
  }
  const tsxLoader = pathToFileURL(createRequire(join(REPO_ROOT, "package.json")).resolve("tsx")).href;
  const child = spawn(process.execPath, ["--import", tsxLoader, fileURLToPath(import.meta.url)], {
    cwd: REPO_ROOT,
    env: { ...process.env, FORGE_KERNEL_SURFACE_LOCK: lock },
    detached: true,
    stdio: "ignore",
  });
  child.on("error", () => undefined); // best effort: the next start tries again
  // Lowest priority: the build must not slow down this kernel's own start.
  if (child.pid !== undefined) {
    try {
      setPriority(child.pid, 19);
    } catch {
      // not permitted here: it runs at normal priority
    }
  }
  child.unref();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const started = performance.now();
  // Started by a kernel: release the lock it took for this build.
  const lock = process.env.FORGE_KERNEL_SURFACE_LOCK;
  if (lock) process.on("exit", () => rmSync(lock, { recursive: true, force: true }));
  try {
    const surface = await buildTypeSurface({ force: process.argv.includes("--force") });
    console.log(`cell type surface: ${surface.dir} (${((performance.now() - started) / 1000).toFixed(1)} s; opaque: ${surface.opaque.join(", ") || "none"})`);
  } catch (e) {
    if (!(e instanceof TypeSurfaceError)) throw e;
    console.error(`forge-kernel: ${e.message}`);
    process.exit(1);
  }
}
