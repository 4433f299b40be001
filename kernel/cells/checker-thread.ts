/**
 * The cell type checker on its own thread. Building the cell compiler takes seconds of CPU
 * (TypeScript, lib es2023, @types/node, the prelude's declarations); on a worker thread it
 * overlaps with the main thread's import of forge/viz/datasets instead of following it.
 *
 * The returned object is a CellConverter whose calls are synchronous: each posts the call to
 * the worker and blocks on a shared signal until the answer is there (a cell's type check
 * would take the main thread just as long if it ran there).
 */
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import { bundleDir } from "../bundled.js";
import { REPO_ROOT } from "./prelude.js";
import type { CellConverter } from "./compiler.js";

/** What the worker is started with. */
export interface CheckerInit {
  rootDir: string;
  prelude: string;
  /** One Int32: 0 while a call is pending, 1 once its answer is posted. */
  signal: SharedArrayBuffer;
  port: MessagePort;
  /** performance.timeOrigin of the starting thread, for the worker's stage times. */
  processOrigin: number;
}

/**
 * When the kernel started (performance.timeOrigin): the supervisor's, which starts the cell
 * process and hands it over in FORGE_KERNEL_ORIGIN, so that the timing log (FORGE_KERNEL_TIMING)
 * counts every stage from the kernel's start; else this process's.
 */
export function kernelOrigin(): number {
  const origin = Number(process.env.FORGE_KERNEL_ORIGIN);
  return Number.isFinite(origin) && origin > 0 ? origin : performance.timeOrigin;
}

/** When the checker's start-up stages ended, in ms since the process started. */
export type CheckerStages = Record<string, number>;

export type CheckerCall =
  | { method: "convert"; args: [string] }
  | { method: "accept"; args: [number] }
  | { method: "inspect" | "complete"; args: [string, number] }
  | { method: "close"; args: [] };

export type CheckerReply = { ok: true; value: unknown } | { ok: false; message: string; stack: string };

/** A call that the worker did not answer in this long means it is gone (crashed or stuck). */
const CALL_TIMEOUT_MS = 2 * 60_000;

/** tsx's ESM API (`register`), located through its package exports' "import" entry. */
function tsxEsmApiUrl(): string {
  const manifest = createRequire(join(REPO_ROOT, "package.json")).resolve("tsx/package.json");
  const exports = (JSON.parse(readFileSync(manifest, "utf8")) as { exports: Record<string, { import: { default: string } }> }).exports;
  return pathToFileURL(join(dirname(manifest), exports["./esm/api"]!.import.default)).href;
}

/** The worker: its bundled module when the kernel runs from the bundle, else its source through tsx. */
function startWorker(init: CheckerInit, port: MessagePort): Worker {
  const bundle = bundleDir();
  if (bundle !== null) return new Worker(join(bundle, "kernel", "cells", "checker-worker.mjs"), { workerData: init, transferList: [port] });
  // Node 20 does not carry the kernel's tsx hooks over to worker threads, so a small bootstrap
  // registers tsx in the worker before importing it.
  const tsxApi = tsxEsmApiUrl();
  const workerUrl = new URL("./checker-worker.ts", import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(workerUrl)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: init, transferList: [port] });
}

/**
 * Start the checker thread for `prelude` (the cells' global declarations); resolves once the
 * converter is built, rejects with the worker's reason if it cannot be.
 */
export function startCheckerThread(prelude: string, onStages?: (stages: CheckerStages) => void): Promise<CellConverter> {
  const signal = new SharedArrayBuffer(4);
  const flag = new Int32Array(signal);
  const { port1: ours, port2: theirs } = new MessageChannel();
  const init: CheckerInit = { rootDir: REPO_ROOT, prelude, signal, port: theirs, processOrigin: kernelOrigin() };
  const worker = startWorker(init, theirs);

  let closed = false;
  /** Why the worker is gone, once it is (calls then fail at once instead of waiting). */
  let gone: string | null = null;
  worker.on("exit", (code) => (gone ??= `the cell type checker thread exited (code ${code}); restart the kernel`));
  worker.on("error", (e) => (gone ??= `the cell type checker thread failed: ${e.message}; restart the kernel`));
  function call(message: CheckerCall): unknown {
    if (closed) throw new Error("the cell type checker is closed");
    if (gone) throw new Error(gone);
    Atomics.store(flag, 0, 0);
    ours.postMessage(message);
    if (Atomics.wait(flag, 0, 0, CALL_TIMEOUT_MS) === "timed-out") throw new Error(`the cell type checker did not answer ${message.method} within ${CALL_TIMEOUT_MS / 1000} s; restart the kernel`);
    const received = receiveMessageOnPort(ours);
    if (!received) throw new Error(`the cell type checker answered ${message.method} with nothing`);
    const reply = received.message as CheckerReply;
    if (!reply.ok) {
      const error = new Error(reply.message);
      error.stack = reply.stack;
      throw error;
    }
    return reply.value;
  }

  const converter: CellConverter = {
    convert: (src) => call({ method: "convert", args: [src] }) as ReturnType<CellConverter["convert"]>,
    accept: (id) => void call({ method: "accept", args: [id] }),
    inspect: (src, position) => call({ method: "inspect", args: [src, position] }) as ReturnType<CellConverter["inspect"]>,
    complete: (src, position) => call({ method: "complete", args: [src, position] }) as ReturnType<CellConverter["complete"]>,
    close: () => {
      if (closed) return;
      try {
        call({ method: "close", args: [] });
      } finally {
        closed = true;
        ours.close();
        void worker.terminate();
      }
    },
  };

  return new Promise((resolve, reject) => {
    worker.once("message", (m: { ready: boolean; error?: string; stages?: CheckerStages }) => {
      if (m.ready) {
        if (m.stages) onStages?.(m.stages);
        return resolve(converter);
      }
      reject(new Error(m.error ?? "the cell type checker failed to start"));
      void worker.terminate();
    });
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`the cell type checker exited (code ${code}) before it was ready`)));
  });
}
