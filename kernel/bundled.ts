/**
 * Whether this kernel runs from its bundle (kernel/bundle.mjs, started by kernel/launch.mjs)
 * or from the TypeScript sources through tsx (FORGE_KERNEL_BUNDLE=0, the tests' in-process
 * kernels), and where the bundled form of a source is.
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { bundleManifest } from "./bundle.mjs";

/** Set by launch.mjs before it imports the bundle. */
const BUNDLE_KEY = Symbol.for("workflow-forge.kernel-bundle");

/** The bundle's folder, or null when running from the sources. */
export function bundleDir(): string | null {
  const dir = (globalThis as Record<symbol, unknown>)[BUNDLE_KEY];
  return typeof dir === "string" ? dir : null;
}

/**
 * The URL to import a source (a path relative to the repository, e.g. "forge/index.ts") at:
 * its bundled module (an entry of the bundle, laid out like the repository) or the source itself.
 */
export function moduleUrl(repoRoot: string, path: string): string {
  const dir = bundleDir();
  return pathToFileURL(dir === null ? join(repoRoot, path) : join(dir, path.replace(/\.ts$/, ".mjs"))).href;
}

/**
 * Import the modules at `paths` (relative to the repository, e.g. "forge/index.ts"), in parallel:
 * their bundled form when running from the bundle, else the sources. Settles like
 * Promise.allSettled.
 *
 * From the bundle, source maps are on (launch.mjs: stack traces name the .ts sources), and Node
 * reads the source map of every module it loads — the packages' too: tfjs's, vega's and
 * arrow's took longer to read than the code itself. So the packages the modules import are
 * loaded first, with source maps off, then the bundled modules, with them on.
 */
export async function importModules(repoRoot: string, paths: readonly string[]): Promise<PromiseSettledResult<unknown>[]> {
  const dir = bundleDir();
  if (dir !== null) {
    const manifest = bundleManifest(dir);
    const entries = paths.map((path) => manifest.packages[path.replace(/\.ts$/, "")] ?? { imports: [], requires: [] });
    const imports = new Set(entries.flatMap((e) => e.imports));
    const requires = new Set(entries.flatMap((e) => e.requires));
    process.setSourceMapsEnabled(false);
    try {
      // A package that fails to load fails its module's import below, which says why.
      const required = createRequire(join(repoRoot, "package.json"));
      for (const name of requires) {
        try {
          required(name);
        } catch {
          // said by the import below
        }
      }
      await Promise.allSettled([...imports].map((p) => import(p)));
    } finally {
      process.setSourceMapsEnabled(true);
    }
  }
  return Promise.allSettled(paths.map((path) => import(moduleUrl(repoRoot, path))));
}

let tsxRegistered: Promise<void> | null = null;

/**
 * From the bundle the kernel starts without tsx's loader hooks (they slow every import), but a
 * cell may still import a .ts file (`agents.loadAgentModule("agents.ts")`,
 * `await import("./x.ts")`): the kernel registers them once it is ready (a few hundred ms of
 * its main thread, once). From the sources they are registered already.
 */
export function registerTsx(): Promise<void> {
  if (bundleDir() === null) return Promise.resolve();
  // What `node --import tsx` runs: tsx's entry registers its ES module and CommonJS hooks.
  const tsx = "tsx";
  tsxRegistered ??= import(tsx).then(() => undefined);
  return tsxRegistered;
}
