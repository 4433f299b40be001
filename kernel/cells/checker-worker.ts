/**
 * Worker-thread side of the cell type checker (checker-thread.ts starts it): builds the cell
 * compiler — the project's TypeScript, lib es2023 and @types/node, the prelude — while the
 * kernel's main thread imports forge/viz/datasets, then answers convert / accept / inspect /
 * complete calls.
 *
 * Each answer is posted on the port, then the shared signal is raised: the main thread waits
 * on that signal (it calls the compiler synchronously).
 */
import { parentPort, workerData } from "node:worker_threads";
import { saveCodeCaches } from "./code-cache.js";
import { createCellCompiler, type CellConverter } from "./compiler.js";
import { cellTypeScript } from "./typescript.js";
import type { CheckerCall, CheckerInit, CheckerReply } from "./checker-thread.js";

const init = workerData as CheckerInit;
const signal = new Int32Array(init.signal);

function answer(reply: CheckerReply): void {
  init.port.postMessage(reply);
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
}

// A failure outside a call must not end the checker: report it; the next call says if it is broken.
process.on("uncaughtException", (e) => {
  process.stderr.write(`[forge-kernel] type checker thread: ${(e as Error).stack ?? String(e)}\n`);
});

let compiler: CellConverter;
/** When each stage ended (ms since the process started: this thread's clock starts later). */
const stages: Record<string, number> = {};
const stageDone = (name: string) => (stages[name] = performance.timeOrigin + performance.now() - init.processOrigin);
try {
  stageDone("thread started");
  const ts = cellTypeScript();
  stageDone("TypeScript loaded");
  const built = createCellCompiler(ts, { rootDir: init.rootDir, prelude: init.prelude });
  compiler = built;
  stageDone("converter built");
  // Building the first program reads lib, @types/node and the prelude's modules: the long part.
  const problems = built.preludeProblems();
  if (problems.length > 0) throw new Error(`the cell prelude does not type-check: ${problems.join("; ")}`);
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
        return answer({ ok: true, value: compiler.convert(call.args[0]) });
      case "accept":
        return answer({ ok: true, value: compiler.accept(call.args[0]) });
      case "inspect":
        return answer({ ok: true, value: compiler.inspect(call.args[0], call.args[1]) });
      case "complete":
        return answer({ ok: true, value: compiler.complete(call.args[0], call.args[1]) });
      case "close":
        compiler.close();
        answer({ ok: true, value: undefined });
        init.port.close();
        return;
    }
  } catch (e) {
    answer({ ok: false, message: (e as Error).message, stack: (e as Error).stack ?? "" });
  }
});
