// @ts-check
/**
 * The kernelspec's entry (plain JavaScript: nothing compiles TypeScript yet):
 *   node kernel/launch.mjs --connection-file <file>
 * Runs the kernel from its bundle (bundle.mjs: built here first when missing, or when a source
 * changed since), with source maps on so that stack traces name the .ts sources as under tsx.
 * FORGE_KERNEL_BUNDLE=0 runs kernel/main.ts through tsx instead, as does a failed build (said
 * on stderr).
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { kernelBundle } from "./bundle.mjs";

/** Where kernel/bundled.ts finds the bundle's folder (a global: the bundle cannot import this file). */
const BUNDLE_KEY = Symbol.for("workflow-forge.kernel-bundle");

let folder = null;
if (process.env.FORGE_KERNEL_BUNDLE !== "0") {
  try {
    folder = await kernelBundle();
  } catch (e) {
    process.stderr.write(`[forge-kernel] running from the sources through tsx (slower start): ${/** @type {Error} */ (e).message}\n`);
  }
}
if (folder !== null) {
  process.setSourceMapsEnabled(true);
  /** @type {Record<symbol, unknown>} */ (globalThis)[BUNDLE_KEY] = folder;
  await import(pathToFileURL(join(folder, "kernel", "main.mjs")).href);
} else {
  await import("tsx"); // what `node --import tsx` runs: registers tsx's ES module and CommonJS hooks
  await import("./main.ts");
}
