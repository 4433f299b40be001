/**
 * Kernel process entry, started by Jupyter through the kernelspec — kernel/launch.mjs, which
 * runs this module from the kernel bundle (or through tsx: FORGE_KERNEL_BUNDLE=0):
 *   node kernel/launch.mjs --connection-file <file>
 *
 * That process is the supervisor (server/supervisor.ts): it owns the sockets and starts the
 * cell process — this entry again, with --cell-process — which runs cells (server/kernel.ts).
 */
import { CELL_PROCESS_FLAG } from "./server/ipc.js";
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

/** The cell process: the type checker's thread first (the longest part of the start), then the kernel. */
async function cellProcess(): Promise<void> {
  const { startCellChecker } = await import("./cells/checker-start.js");
  const checker = startCellChecker();
  const [{ Kernel }, { CellProcessChannels }] = await Promise.all([import("./server/kernel.js"), import("./server/ipc.js")]);
  const channels = new CellProcessChannels((text) => process.stderr.write(`[forge-kernel] ${text}\n`));
  await new Kernel(channels, { checker }).start();
  watchParent();
}

/**
 * A cell process whose supervisor was killed (SIGKILL: it could not take the cell process with
 * it) goes too — even while a cell's loop holds its main thread: a small thread watches.
 */
function watchParent(): void {
  void import("node:worker_threads").then(({ Worker }) => {
    const source = `const { workerData } = require("node:worker_threads");
setInterval(() => { if (process.ppid !== workerData) process.kill(process.pid, "SIGKILL"); }, 1000);`;
    new Worker(source, { eval: true, workerData: process.ppid }).unref();
  });
}

async function supervisor(): Promise<void> {
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
  // The cell process takes longest to be ready (the type checker, forge/viz/datasets): start it
  // before loading zeromq and the rest of the supervisor.
  const { earlyCellProcess } = await import("./server/cell-process.js");
  const first = earlyCellProcess();
  const { Supervisor } = await import("./server/supervisor.js");
  await new Supervisor(info, first).start();
}

if (process.argv.includes(CELL_PROCESS_FLAG) && process.send) await cellProcess();
else await supervisor();
