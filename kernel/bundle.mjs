// @ts-check
/**
 * The kernel bundle: the kernel and the modules it preloads (kernel/, forge/, viz/, datasets/)
 * compiled by esbuild into a few ES modules that Node loads as they are. Packages stay in
 * node_modules (imported, not copied into the bundle).
 *
 * Why: under tsx every import — of our sources and of packages alike — goes through its loader
 * hooks on another thread, and each source file is transformed on the way: importing
 * forge/viz/datasets took 2–4 times as long as from the bundle.
 *
 * Plain JavaScript, because it runs before anything can compile TypeScript: launch.mjs (the
 * kernelspec's entry) calls kernelBundle() at every start. The bundle never goes stale
 * silently: a build records every file esbuild read, with its size and modification time, and
 * a start that finds one of them changed — or another Node, esbuild or repository folder —
 * builds again (a fraction of a second).
 *
 *   kernelBundle()       the up-to-date bundle's folder, built first if need be
 *   freshBundle()        the up-to-date bundle's folder, or null
 *   buildBundle()        build now
 *   node kernel/bundle.mjs [--force]     build from the command line (kernel:install does)
 *
 * Cached in node_modules/.cache/forge-kernel/bundle/ — always there, FORGE_KERNEL_CACHE or not:
 * the bundle imports packages by name, which Node resolves from where the importing file is.
 * current.json names the latest build's folder; each folder holds the bundle, laid out like the
 * repository (forge/index.mjs, kernel/main.mjs, …), source maps, and manifest.json.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire, isBuiltin } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The repository root (this file is in kernel/). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Entry points, by output name (the path without extension): the kernel, its checker thread,
 * and the modules it preloads — entries too, so that the kernel imports them by path, and in
 * one build, so that they share one instance of what they have in common (forge/session/ambient,
 * forge/display) with the kernel.
 */
export const BUNDLE_ENTRIES = {
  "kernel/main": "kernel/main.ts",
  "kernel/cells/checker-worker": "kernel/cells/checker-worker.ts",
  "forge/index": "forge/index.ts",
  "viz/index": "viz/index.ts",
  "datasets/index": "datasets/index.ts",
  "agents/index": "agents/index.ts",
  "forge/session/ambient": "forge/session/ambient.ts",
};

/** Folders whose files may end up in the bundle (their stats are taken before a build). */
const SOURCE_FOLDERS = ["kernel", "forge", "viz", "datasets", "agents"];
/** Read by esbuild besides the sources. */
const CONFIG_FILES = ["tsconfig.json", "package.json"];
/** Bumped when the build's options or layout change, so that older builds are not reused. */
const BUNDLE_FORMAT = 4;
const MANIFEST = "manifest.json";
const CURRENT = "current.json";

/** Where bundles are cached: inside the repository's node_modules, so that their package imports resolve. */
export function bundleCacheRoot() {
  return join(REPO_ROOT, "node_modules", ".cache", "forge-kernel", "bundle");
}

const require = createRequire(import.meta.url);

/** esbuild, as tsx (a dependency) brings it. */
function esbuildPath() {
  try {
    return createRequire(require.resolve("tsx/package.json")).resolve("esbuild");
  } catch {
    return require.resolve("esbuild");
  }
}

function esbuildVersion() {
  let dir = dirname(esbuildPath());
  while (dir !== dirname(dir)) {
    try {
      return /** @type {{version: string}} */ (JSON.parse(readFileSync(join(dir, "package.json"), "utf8"))).version;
    } catch {
      dir = dirname(dir);
    }
  }
  return "unknown";
}

/**
 * Packages an entry loads as it is imported (through its chunks too): ES modules it imports,
 * CommonJS ones it requires (commonJsPlugin).
 * @typedef {{ imports: string[], requires: string[] }} EntryPackages
 */
/**
 * What a bundle was built from and with, and the packages of each entry (by output name).
 * @typedef {{ format: number, node: string, esbuild: string, root: string, inputs: Record<string, [number, number]>, packages: Record<string, EntryPackages> }} Manifest
 */

/** Everything but the inputs: a bundle built under other settings is not reused. */
function settings() {
  return { format: BUNDLE_FORMAT, node: process.version, esbuild: esbuildVersion(), root: REPO_ROOT };
}

/** @param {string} path  @returns {[number, number] | null} size and mtime */
function stamp(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  return stat ? [stat.size, stat.mtimeMs] : null;
}

/**
 * Whether a bundle built as `manifest` says is up to date: same settings, and every input
 * still has the size and modification time it had.
 * @param {Manifest} manifest
 */
export function isFresh(manifest) {
  const now = settings();
  if (manifest.format !== now.format || manifest.node !== now.node || manifest.esbuild !== now.esbuild || manifest.root !== now.root) return false;
  for (const [file, [size, mtime]] of Object.entries(manifest.inputs)) {
    const current = stamp(join(REPO_ROOT, file));
    if (!current || current[0] !== size || current[1] !== mtime) return false;
  }
  return true;
}

/** A bundle's manifest. @param {string} folder  @returns {Manifest} */
export function bundleManifest(folder) {
  return JSON.parse(readFileSync(join(folder, MANIFEST), "utf8"));
}

/** The up-to-date bundle's folder, or null when there is none (or it is stale). */
export function freshBundle() {
  const root = bundleCacheRoot();
  try {
    const { dir } = /** @type {{dir: string}} */ (JSON.parse(readFileSync(join(root, CURRENT), "utf8")));
    const folder = join(root, dir);
    return isFresh(bundleManifest(folder)) ? folder : null;
  } catch {
    return null; // no bundle yet, or a broken one: build
  }
}

/** The up-to-date bundle's folder, built first if need be. */
export async function kernelBundle() {
  return freshBundle() ?? (await buildBundle());
}

/** @param {string} folder  @param {Map<string, [number, number]>} into */
function stampFolder(folder, into) {
  let entries;
  try {
    entries = readdirSync(join(REPO_ROOT, folder), { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) stampFolder(path, into);
    else {
      const s = stamp(join(REPO_ROOT, path));
      if (s) into.set(path.split(sep).join("/"), s);
    }
  }
}

/** What `import.meta.url` reads in a bundled source (with `define`): the source's own URL (sourceUrlPlugin). */
const SOURCE_URL = "__forgeSourceUrl";

/**
 * esbuild plugin: `import.meta.url` in a source stays that source's own URL, so that what a
 * module finds next to itself (forge/session's default model, the agents' sandbox runner, tslab
 * through createRequire) is found as under tsx, although its code now lives in the bundle.
 * Each such source gets a constant holding its URL, in front of its first line (line numbers
 * stay); `define` points `import.meta.url` at it (code only: strings and comments stay).
 * @type {import("esbuild").Plugin}
 */
const sourceUrlPlugin = {
  name: "forge-source-url",
  setup(build) {
    build.onLoad({ filter: /\.(ts|mjs)$/ }, async (args) => {
      if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
      const source = await readFile(args.path, "utf8");
      if (!source.includes("import.meta.url")) return undefined; // esbuild loads it as usual
      const contents = `const ${SOURCE_URL} = ${JSON.stringify(pathToFileURL(args.path).href)};${source}`;
      return { contents, loader: args.path.endsWith(".ts") ? "ts" : "js" };
    });
  },
};

/** The `require` the bundle loads CommonJS packages with (commonJsPlugin), from the repository root. */
const REQUIRE = "__forgeRequire";
const REQUIRE_NAMESPACE = "forge-require";

/** @param {string} path  @returns {any} */
function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return null;
  }
}

/**
 * The target of a package's `exports` for an ES module `import` (Node's conditions), or null.
 * @param {unknown} target  @returns {string | null}
 */
function importTarget(target) {
  if (typeof target === "string") return target;
  if (Array.isArray(target)) return importTarget(target[0]);
  if (target === null || typeof target !== "object") return null;
  for (const [condition, value] of Object.entries(target)) {
    if (condition === "import" || condition === "node" || condition === "default") {
      const found = importTarget(value);
      if (found !== null) return found;
    }
  }
  return null;
}

/**
 * Whether Node loads `specifier` (a package, or a path in one, imported from the repository)
 * as CommonJS when it is `import`ed. Read off the package's package.json, as Node does: the
 * `exports` entry for `import`, else `main`; then the file's extension, or the package's
 * `type`. When in doubt, no: the package is imported (correct, only slower to load).
 * @param {string} specifier
 */
function isCommonJsPackage(specifier) {
  const parts = specifier.split("/");
  const name = parts.slice(0, specifier.startsWith("@") ? 2 : 1).join("/");
  const subpath = ["."].concat(parts.slice(specifier.startsWith("@") ? 2 : 1)).join("/");
  const dir = join(REPO_ROOT, "node_modules", name);
  const manifest = readJson(join(dir, "package.json"));
  if (manifest === null) return false;
  let file;
  if (manifest.exports !== undefined) {
    const exports = manifest.exports;
    const bySubpath = typeof exports === "object" && exports !== null && !Array.isArray(exports) && Object.keys(exports).some((k) => k.startsWith("."));
    file = importTarget(bySubpath ? exports[subpath] : subpath === "." ? exports : undefined);
  } else {
    file = subpath === "." ? (manifest.main ?? "index.js") : subpath;
  }
  if (typeof file !== "string") return false;
  if (file.endsWith(".cjs")) return true;
  if (file.endsWith(".mjs")) return false;
  if (!/\.js$/.test(file) && subpath === "." && manifest.exports === undefined) file += statSync(join(dir, file), { throwIfNoEntry: false })?.isDirectory() ? "/index.js" : ".js";
  return file.endsWith(".js") && manifest.type !== "module";
}

/**
 * esbuild plugin: CommonJS packages (tfjs) are loaded with `require`, not `import`. For an
 * `import` of CommonJS, Node first scans the package's source — and that of every package it
 * re-exports (tfjs: core, layers, converter, data, the backends: megabytes) — for the export
 * names: ~0.3 s of the kernel's start. Importers in the bundle get the module's exports either
 * way, and it is the one instance: Node's `import` of it returns the required module too.
 * @type {import("esbuild").Plugin}
 */
const commonJsPlugin = {
  name: "forge-commonjs-packages",
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      // Dynamic imports load on first use, not at start: left as they are.
      if (args.namespace === REQUIRE_NAMESPACE || args.kind !== "import-statement" || isBuiltin(args.path)) return undefined;
      return isCommonJsPackage(args.path) ? { path: args.path, namespace: REQUIRE_NAMESPACE } : undefined;
    });
    build.onLoad({ filter: /.*/, namespace: REQUIRE_NAMESPACE }, (args) => ({ contents: `module.exports = ${REQUIRE}(${JSON.stringify(args.path)});`, loader: "js" }));
  },
};

/** Build the bundle now; returns its folder. Throws with esbuild's first error when it cannot. */
export async function buildBundle() {
  const root = bundleCacheRoot();
  mkdirSync(root, { recursive: true });
  // Stats taken before esbuild reads the files: a file saved during the build shows up as changed at the next start.
  const before = new Map();
  for (const folder of SOURCE_FOLDERS) stampFolder(folder, before);
  const staging = join(root, `build-${process.pid}-${randomBytes(4).toString("hex")}.tmp`);
  const esbuild = /** @type {typeof import("esbuild")} */ (await import(pathToFileURL(esbuildPath()).href));
  try {
    const result = await esbuild.build({
      absWorkingDir: REPO_ROOT,
      entryPoints: BUNDLE_ENTRIES,
      outdir: staging,
      outExtension: { ".js": ".mjs" },
      chunkNames: "chunks/[name]-[hash]",
      bundle: true,
      splitting: true,
      format: "esm",
      platform: "node",
      packages: "external",
      // As tsx compiles: for this Node, function and class names kept (errors and agents show them).
      target: `node${process.versions.node}`,
      keepNames: true,
      tsconfig: join(REPO_ROOT, "tsconfig.json"),
      // Stack traces name the .ts sources (the launcher turns source maps on).
      sourcemap: "linked",
      sourcesContent: false,
      metafile: true,
      logLevel: "silent",
      plugins: [sourceUrlPlugin, commonJsPlugin],
      banner: { js: `import { createRequire as __forgeCreateRequire } from "node:module"; const ${REQUIRE} = __forgeCreateRequire(${JSON.stringify(pathToFileURL(join(REPO_ROOT, "package.json")).href)});` },
      define: { "import.meta.url": SOURCE_URL },
    });
    /** @type {Manifest["inputs"]} */
    const inputs = {};
    for (const file of [...Object.keys(result.metafile.inputs), ...CONFIG_FILES]) {
      if (file.includes("node_modules/") || file.includes(":")) continue; // packages are not bundled; no virtual modules
      const s = before.get(file) ?? stamp(join(REPO_ROOT, file));
      if (s) inputs[file] = s;
    }
    /** @type {Manifest} */
    const manifest = { ...settings(), inputs, packages: packagesByEntry(result.metafile, staging) };
    writeFileSync(join(staging, MANIFEST), JSON.stringify(manifest));
    // The folder is named after what it was built from: kernels that build at once agree on it.
    const id = createHash("sha256").update(JSON.stringify(manifest)).digest("hex").slice(0, 16);
    const folder = join(root, id);
    try {
      renameSync(staging, folder);
    } catch {
      rmSync(staging, { recursive: true, force: true }); // another kernel built the same bundle first
    }
    const pointer = join(root, `${CURRENT}.${process.pid}.tmp`);
    writeFileSync(pointer, JSON.stringify({ dir: id }));
    renameSync(pointer, join(root, CURRENT)); // atomic: a starting kernel reads the old or the new one
    pruneOldBundles(root, id);
    return folder;
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    /** @type {{errors?: {text: string, location?: {file: string, line: number}}[]}} */
    const failure = /** @type {any} */ (e);
    const first = failure.errors?.[0];
    if (first) throw new Error(`kernel bundle: ${first.location ? `${first.location.file}:${first.location.line}: ` : ""}${first.text}`);
    throw e;
  }
}

/**
 * The packages each entry loads as it is imported — those its output and the chunks it imports
 * statically import or require — Node's builtins left out: what the prelude loads first, with
 * source maps off (kernel/bundled.ts).
 * @param {import("esbuild").Metafile} metafile  @param {string} outdir
 */
function packagesByEntry(metafile, outdir) {
  const base = relative(REPO_ROOT, outdir).split(sep).join("/");
  /** @type {Record<string, EntryPackages>} */
  const packages = {};
  for (const name of Object.keys(BUNDLE_ENTRIES)) {
    const imports = new Set();
    const requires = new Set();
    const seen = new Set();
    const visit = (/** @type {string} */ output) => {
      if (seen.has(output) || !metafile.outputs[output]) return;
      seen.add(output);
      for (const input of Object.keys(metafile.outputs[output].inputs)) {
        if (input.startsWith(`${REQUIRE_NAMESPACE}:`)) requires.add(input.slice(REQUIRE_NAMESPACE.length + 1));
      }
      for (const imported of metafile.outputs[output].imports) {
        if (imported.kind !== "import-statement") continue; // dynamic imports load on first use
        if (!imported.external) visit(imported.path);
        else if (!isBuiltin(imported.path)) imports.add(imported.path);
      }
    };
    visit(`${base}/${name}.mjs`);
    packages[name] = { imports: [...imports], requires: [...requires] };
  }
  return packages;
}

/**
 * Drop earlier builds that no kernel can still be using (a running kernel imports parts of its
 * bundle on first use: the HTTP server, the queue), and builds abandoned half way.
 * @param {string} root  @param {string} keep
 */
function pruneOldBundles(root, keep) {
  const now = Date.now();
  for (const name of readdirSync(root)) {
    if (name === keep || name.startsWith(CURRENT)) continue;
    const path = join(root, name);
    const age = now - (statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? now);
    if (age > (name.endsWith(".tmp") ? 3600_000 : 7 * 24 * 3600_000)) rmSync(path, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = performance.now();
  try {
    const folder = process.argv.includes("--force") ? await buildBundle() : await kernelBundle();
    console.log(`kernel bundle: ${folder} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  } catch (e) {
    console.error(`forge-kernel: ${/** @type {Error} */ (e).message}`);
    process.exit(1);
  }
}
