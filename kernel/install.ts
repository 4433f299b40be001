/**
 * Writes the kernelspec that starts this repository's kernel with this Node:
 *   npm run kernel:install [-- --prefix <dir> | --user] [--name <kernel name>]
 * Default destination: the per-user Jupyter data dir ($JUPYTER_DATA_DIR, else
 * $XDG_DATA_HOME/jupyter, else ~/.local/share/jupyter); with --prefix: <prefix>/share/jupyter.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { REPO_ROOT } from "./cells/prelude.js";
import { buildTypeSurface } from "./cells/type-surface.js";
import { kernelBundle } from "./bundle.mjs";
import { DISPLAY_NAME, KERNEL_NAME } from "./server/kernel-info.js";

export interface InstallOptions {
  /** Install under <prefix>/share/jupyter/kernels (like `jupyter kernelspec install --prefix`). */
  prefix?: string;
  /** Kernel directory name (default forge-typescript). */
  name?: string;
}

export interface Kernelspec {
  argv: string[];
  display_name: string;
  language: string;
  interrupt_mode: "signal" | "message";
  env: Record<string, string>;
  metadata: Record<string, unknown>;
}

export function kernelspec(): Kernelspec {
  return {
    // The launcher runs the kernel from its bundle, built or rebuilt there when the sources changed.
    argv: [process.execPath, "--disable-warning=ExperimentalWarning", join(REPO_ROOT, "kernel", "launch.mjs"), "--connection-file", "{connection_file}"],
    display_name: DISPLAY_NAME,
    language: "typescript",
    // Jupyter interrupts with interrupt_request on control, which the supervisor answers and
    // aims at the running cell (synchronous loops included). In "signal" mode Jupyter would also
    // signal the cell process (the kernel's process group), whose Node dies of a SIGINT that
    // lands just around a cell's vm run.
    interrupt_mode: "message",
    env: {},
    metadata: { debugger: false },
  };
}

export function kernelsDir(prefix?: string): string {
  if (prefix) return join(resolve(prefix), "share", "jupyter", "kernels");
  const data = process.env.JUPYTER_DATA_DIR ?? join(process.env.XDG_DATA_HOME ?? join(homedir(), ".local", "share"), "jupyter");
  return join(data, "kernels");
}

/** Writes kernel.json; returns the kernelspec directory. */
export function installKernelspec(options: InstallOptions = {}): string {
  const dir = join(kernelsDir(options.prefix), options.name ?? KERNEL_NAME);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "kernel.json"), JSON.stringify(kernelspec(), null, 2) + "\n");
  return dir;
}

function parseArgs(argv: string[]): InstallOptions & { typeSurface: boolean } {
  const options: InstallOptions & { typeSurface: boolean } = { typeSurface: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : argv[++i];
      if (!v) throw new Error(`${arg.split("=")[0]} needs a value`);
      return v;
    };
    if (arg === "--prefix" || arg.startsWith("--prefix=")) options.prefix = value();
    else if (arg === "--name" || arg.startsWith("--name=")) options.name = value();
    else if (arg === "--user") options.prefix = undefined;
    else if (arg === "--no-type-surface") options.typeSurface = false;
    else throw new Error(`unknown option ${arg} (use --prefix <dir>, --user, --name <name>, --no-type-surface)`);
  }
  return options;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  try {
    const options = parseArgs(process.argv.slice(2));
    const dir = installKernelspec(options);
    console.log(`Installed kernelspec ${KERNEL_NAME} in ${dir}`);
    // Build the kernel bundle now, so that the first start does not (each start checks it is up to date).
    console.log(`Kernel bundle ready in ${await kernelBundle()}`);
    if (options.typeSurface) {
      // Build the cells' type surface now, so the first notebook start does not pay for it.
      const surface = await buildTypeSurface();
      console.log(`Cell type surface ready in ${surface.dir}`);
    }
  } catch (e) {
    console.error(`kernel:install: ${(e as Error).message}`);
    process.exit(2);
  }
}
