/**
 * Worker-thread side of the cell type checker (checker-thread.ts starts it): builds tslab's
 * converter — TypeScript, the lib and @types declarations, the prelude — while the kernel's
 * main thread imports forge/viz/datasets, then answers convert / inspect / complete calls.
 *
 * Each answer is posted on the port, then the shared signal is raised: the main thread waits
 * on that signal (tslab's executor calls the converter synchronously).
 */
import { parentPort, workerData } from "node:worker_threads";
import { saveCodeCaches } from "./code-cache.js";
import { tslabConverter, tslabTypeScript, type TslabConverter } from "./tslab.js";
import type { CheckerCall, CheckerInit, CheckerReply } from "./checker-thread.js";

/** The parts of TypeScript's `sys` (its file system and watching host) changed here. */
interface TsSys {
  getCurrentDirectory(): string;
  watchDirectory(path: string, callback: (fileName: string) => void, recursive?: boolean, options?: unknown): { close(): void };
  getDirectories(path: string): string[];
}

const init = workerData as CheckerInit;
const signal = new Int32Array(init.signal);

function answer(reply: CheckerReply): void {
  init.port.postMessage(reply);
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
}

// tslab's file watchers rebuild on a timer when watched folders change (another process editing
// the repository) and can throw there ("Unexpected pending rebuildTimer"): report it, and keep
// the checker alive — the next cell's check rebuilds anyway.
process.on("uncaughtException", (e) => {
  process.stderr.write(`[forge-kernel] type checker thread: ${(e as Error).stack ?? String(e)}\n`);
});

let converter: TslabConverter;
/** When each stage ended (ms since the process started: this thread's clock starts later). */
const stages: Record<string, number> = {};
const stageDone = (name: string) => (stages[name] = performance.timeOrigin + performance.now() - init.processOrigin);
try {
  stageDone("thread started");
  // The converter type-checks as if cells lived in its current directory and refuses sources
  // outside it. A worker cannot chdir (the directory is the process's): tell this thread's
  // TypeScript (its own module instance) the repository root instead.
  const sys = (tslabTypeScript() as unknown as { sys: TsSys }).sys;
  sys.getCurrentDirectory = () => init.rootDir;
  // TypeScript watches the folders where module lookups failed — node_modules and
  // node_modules/@types among them — and on Linux emulates recursive watching by walking the
  // whole tree and watching every folder in it (2 000+ here): 0.1–0.5 s of the start, and a
  // rebuild whenever anything below changes (the kernel's own caches in node_modules/.cache).
  // Watch those folders themselves, not their subtrees.
  const watchDirectory = sys.watchDirectory.bind(sys);
  sys.watchDirectory = (path, callback, _recursive, options) => watchDirectory(path, callback, false, options);
  // TypeScript includes every package under node_modules/@types in every program, and this
  // repository's development tools bring a dozen (chai, estree, emscripten, …): parsing them
  // slowed each start by ≈ 5 %. Cells get Node's globals; any other package's types come with
  // its import, as module resolution finds them.
  const getDirectories = sys.getDirectories.bind(sys);
  sys.getDirectories = (path) => (/[\\/]node_modules[\\/]@types$/.test(path) ? getDirectories(path).filter((name) => name === "node") : getDirectories(path));
  stageDone("TypeScript loaded");
  converter = tslabConverter().createConverter({ isJS: false, isBrowser: false });
  stageDone("converter built");
  const problems = converter.addModule("__forge_prelude__", init.prelude);
  if (problems.length > 0) throw new Error(`the cell prelude does not type-check: ${problems.map((p) => p.messageText).join("; ")}`);
  stageDone("prelude checked");
  parentPort!.postMessage({ ready: true, stages });
  // After a start without TypeScript's code cache, write it: now it holds what the checker compiled.
  saveCodeCaches();
} catch (e) {
  // The starting side terminates this thread when it reads this.
  parentPort!.postMessage({ ready: false, error: (e as Error).message });
}

init.port.on("message", (call: CheckerCall) => {
  try {
    switch (call.method) {
      case "convert":
        return answer({ ok: true, value: converter.convert(call.args[0], call.args[1]) });
      case "inspect":
        return answer({ ok: true, value: converter.inspect(call.args[0], call.args[1], call.args[2]) });
      case "complete": {
        // `original` holds TypeScript's completion objects: not needed, and not always cloneable.
        const { start, end, candidates } = converter.complete(call.args[0], call.args[1], call.args[2]);
        return answer({ ok: true, value: { start, end, candidates } });
      }
      case "addModule":
        return answer({ ok: true, value: converter.addModule(call.args[0], call.args[1]) });
      case "close":
        converter.close();
        answer({ ok: true, value: undefined });
        init.port.close();
        return;
    }
  } catch (e) {
    answer({ ok: false, message: (e as Error).message, stack: (e as Error).stack ?? "" });
  }
});
