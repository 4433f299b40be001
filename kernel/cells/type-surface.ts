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
 * The build takes seconds (TypeScript reads everything once). It records the sources it was
 * built from (the files of the repository TypeScript read, with sizes and modification times),
 * so it is redone only after one of them changed — not after edits elsewhere (scripts/training,
 * cli, tests).
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
 * Arrow tables from `datasets`, Vega-Lite specs from `viz`; zod, from which forge's
 * `RequestOptions` is inferred — opaque, an interface extending it lost every option and a
 * cell's `session.request(…, { batchSize: 4 })` was refused). Node's builtins stay too. Every
 * other package becomes opaque (`any`).
 */
export const KEPT_PACKAGES: readonly string[] = ["apache-arrow", "vega-lite", "jsep", "zod"];

/** Bumped when the build's output changes shape, so old caches are not reused. */
const SURFACE_FORMAT = 2;

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

/**
 * What a surface was built from: the build's settings, and each source of the repository that
 * TypeScript read for it, with its size and modification time when the build started.
 */
interface SurfaceManifest {
  settings: string;
  inputs: Record<string, [size: number, mtimeMs: number]>;
  opaque: string[];
  files: number;
}

/** The build's settings: another format, package list, entry list or repository folder is another surface. */
function surfaceSettings(): string {
  return JSON.stringify({ SURFACE_FORMAT, KEPT_PACKAGES, SURFACE_ENTRIES, root: REPO_ROOT });
}

function stamp(path: string): [number, number] | null {
  const stat = statSync(path, { throwIfNoEntry: false });
  return stat ? [stat.size, stat.mtimeMs] : null;
}

/**
 * Up to date: same settings, and every source it was built from unchanged. Sources that forge's
 * entry points do not reach (scripts/training, cli, …) do not count.
 */
function isFresh(manifest: SurfaceManifest): boolean {
  if (manifest.settings !== surfaceSettings()) return false;
  for (const [file, [size, mtime]] of Object.entries(manifest.inputs)) {
    const current = stamp(join(REPO_ROOT, file));
    if (!current || current[0] !== size || current[1] !== mtime) return false;
  }
  return true;
}

/** The file naming this repository's latest surface (one per repository: FORGE_KERNEL_CACHE may be shared). */
function currentFile(root: string): string {
  return join(root, `current-${createHash("sha256").update(REPO_ROOT).digest("hex").slice(0, 8)}.json`);
}

/** The surface for the current sources, if it has been built; null otherwise. */
export function cachedTypeSurface(): TypeSurface | null {
  const root = surfaceCacheRoot();
  try {
    const { dir } = JSON.parse(readFileSync(currentFile(root), "utf8")) as { dir: string };
    const manifest = JSON.parse(readFileSync(join(root, dir, COMPLETE_MARKER), "utf8")) as SurfaceManifest;
    return isFresh(manifest) ? { dir: join(root, dir), opaque: manifest.opaque } : null;
  } catch {
    return null; // none built yet
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
  if (!options.force) {
    const cached = cachedTypeSurface();
    if (cached) return cached;
  }
  // Stats taken before TypeScript reads the sources: one saved during the build shows up as changed.
  const sources: string[] = [];
  for (const folder of SOURCE_FOLDERS) listSources(join(REPO_ROOT, folder), sources);
  const before = new Map(sources.map((file) => [relative(REPO_ROOT, file), stamp(file)] as const));
  const ts = (await import("typescript")).default;
  const root = surfaceCacheRoot();
  // Build next to the final folder, then rename: a concurrent kernel never sees half a surface.
  const staging = join(root, `build-${process.pid}-${Date.now()}.tmp`);
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
    const inputs: SurfaceManifest["inputs"] = {};
    for (const file of program.getSourceFiles()) {
      const rel = relative(REPO_ROOT, file.fileName);
      if (rel.startsWith("..") || rel.split(/[\\/]/).includes("node_modules")) continue; // packages: not the repository's sources
      const s = before.get(rel) ?? stamp(file.fileName);
      if (s) inputs[rel] = s;
    }
    writeFileSync(
      join(staging, OPAQUE_FILE),
      [
        "// Packages cut off from the cell type surface: everything imported from them reads as `any`.",
        ...sorted.map((s) => `declare module ${JSON.stringify(OPAQUE_PREFIX + s)};`),
        "",
      ].join("\n"),
    );
    const manifest: SurfaceManifest = { settings: surfaceSettings(), inputs, opaque: sorted, files: written.length };
    writeFileSync(join(staging, COMPLETE_MARKER), JSON.stringify(manifest));
    // Named after what it was built from: kernels that build at once agree on it.
    const id = createHash("sha256").update(JSON.stringify(manifest)).digest("hex").slice(0, 16);
    const dir = join(root, id);
    try {
      renameSync(staging, dir);
    } catch {
      rmSync(staging, { recursive: true, force: true }); // built by another process first
    }
    const pointer = `${currentFile(root)}.${process.pid}.tmp`;
    writeFileSync(pointer, JSON.stringify({ dir: id }));
    renameSync(pointer, currentFile(root)); // atomic: a starting kernel reads the old or the new one
    pruneOldSurfaces(root, id);
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
    if (name === keep || name === "building.lock" || name.startsWith("current-") || (statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? 0) > dayAgo) continue;
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
