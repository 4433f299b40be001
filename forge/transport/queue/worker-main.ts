/**
 * `forge worker --redis redis://host:6379 [options]`: one queue worker (worker.ts) on this
 * machine's model and accelerator. Runs until SIGINT / SIGTERM, then finishes the job in hand
 * and leaves. Run directly: `node --import tsx forge/transport/queue/worker-main.ts --redis …`.
 *
 *   --redis URL        redis://[user:password@]host:port[/db] (rediss:// for TLS)   (required)
 *   --model DIR        Hugging Face layout folder (default: the project's model)
 *   --queue NAME       queue to serve (default "forge"; sessions use the same name)
 *   --name NAME        worker name in logs and progress (default host:pid)
 *   --concurrency N    jobs at once (default 1)
 *   --device NAME      tfjs backend: tensorflow | wasm | cpu (default: the best available)
 *   --lock-ms N        job lock duration; a dead worker's job is taken over after ≈ this (default 30000)
 *   --stalled-ms N     how often to look for dead workers' jobs (default 30000)
 */
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { ForgeError } from "../../errors.js";
import { makeBackend } from "../../session/backend.js";
import type { BackendName } from "../../backend/index.js";
import { startQueueWorker, type QueueWorker } from "./worker.js";
import { parseRedisUrl } from "./connection.js";

const USAGE = "usage: forge worker --redis redis://host:6379 [--model DIR] [--queue NAME] [--name NAME] [--concurrency N] [--device tensorflow|wasm|cpu] [--lock-ms N] [--stalled-ms N]";

/** A mistake on the command line: printed alone, with the usage. */
class UsageError extends ForgeError {
  readonly code: string = "usage";
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

function positive(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

/** Parses the arguments (a leading "worker" is skipped), starts the worker, stops it on SIGINT / SIGTERM. */
export async function workerMain(argv: string[]): Promise<QueueWorker> {
  const args = argv[0] === "worker" ? argv.slice(1) : argv;
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        redis: { type: "string" },
        model: { type: "string" },
        queue: { type: "string" },
        name: { type: "string" },
        concurrency: { type: "string" },
        device: { type: "string" },
        "lock-ms": { type: "string" },
        "stalled-ms": { type: "string" },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (!values.redis) throw new UsageError("--redis is required");
  try {
    parseRedisUrl(values.redis);
  } catch (err) {
    throw new UsageError(`--redis: ${(err as Error).message}`);
  }
  const device = values.device as BackendName | undefined;
  if (device !== undefined && !["tensorflow", "wasm", "cpu"].includes(device))
    throw new UsageError(`--device must be tensorflow, wasm or cpu, got ${JSON.stringify(device)}`);
  const options = {
    redis: values.redis,
    queue: values.queue,
    name: values.name,
    concurrency: positive(values.concurrency, "--concurrency"),
    lockDurationMs: positive(values["lock-ms"], "--lock-ms"),
    stalledIntervalMs: positive(values["stalled-ms"], "--stalled-ms"),
  };
  const backend = await makeBackend(values.model, undefined, { device });
  const worker = await startQueueWorker(backend, options);
  const stop = (signal: string) => {
    process.stderr.write(`worker ${worker.name}: ${signal}, finishing the job in hand\n`);
    void worker.close().then(() => process.exit(0));
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
  return worker;
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  workerMain(process.argv.slice(2)).catch((err: unknown) => {
    const error = err as Error;
    if (error instanceof UsageError) console.error(`forge worker: ${error.message}\n${USAGE}`);
    else if (/Error$/.test(error.name) && error.name !== "Error" && error.name !== "TypeError") console.error(`forge worker: ${error.name}: ${error.message}`);
    else console.error(`forge worker: ${error.message ?? String(err)}`);
    process.exit(error instanceof UsageError ? 2 : 1);
  });
}
