/**
 * Kernel process entry, started by Jupyter through the kernelspec:
 *   node --import <tsx loader> kernel/main.ts --connection-file <file>
 */
import { ConnectionFileError, readConnectionFile } from "./protocol/index.js";
import { Kernel } from "./server/index.js";

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
    process.stderr.write("usage: kernel/main.ts --connection-file <kernel-….json>\n(the file is written by Jupyter; install the kernelspec with `npm run kernel:install`)\n");
    process.exit(2);
  }
  try {
    const kernel = new Kernel(readConnectionFile(file));
    await kernel.start();
  } catch (e) {
    if (e instanceof ConnectionFileError) {
      process.stderr.write(`forge-kernel: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
}

await main();
