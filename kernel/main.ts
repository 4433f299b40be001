/**
 * Kernel process entry, started by Jupyter through the kernelspec — kernel/launch.mjs, which
 * runs this module from the kernel bundle (or through tsx: FORGE_KERNEL_BUNDLE=0):
 *   node kernel/launch.mjs --connection-file <file>
 */
import { startCellChecker } from "./cells/checker-start.js";
import { readConnectionFile } from "./protocol/connection.js";
import { ConnectionFileError } from "./protocol/errors.js";

function connectionFileArgument(argv: string[]): string | null {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "-f" || arg === "--connection-file") return argv[i + 1] ?? null;
    if (arg.startsWith("--connection-file=")) return arg.slice("--connection-file=".length);
    if (!arg.startsWith("-")) return arg;
  }
  return null;
}

async function main(): Promise<void> {
  const file = connectionFileArgument(process.argv.slice(2));
  if (file === null) {
    process.stderr.write("usage: kernel/launch.mjs --connection-file <kernel-….json>\n(the file is written by Jupyter; install the kernelspec with `npm run kernel:install`)\n");
    process.exit(2);
  }
  let info;
  try {
    info = readConnectionFile(file);
  } catch (e) {
    if (!(e instanceof ConnectionFileError)) throw e;
    process.stderr.write(`forge-kernel: ${e.message}\n`);
    process.exit(2);
  }
  // The cell type checker's thread is the longest part of the start: start it before loading
  // the rest of the kernel (zeromq, SQLite, tslab's executor).
  const checker = startCellChecker();
  const { Kernel } = await import("./server/index.js");
  await new Kernel(info, { checker }).start();
}

await main();
