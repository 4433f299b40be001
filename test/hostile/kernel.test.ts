/**
 * Hostile cells against the real kernel process, driven by a real zeromq client
 * (test/kernel/client.ts): every request gets a reply, and no cell wedges the kernel or kills it
 * silently (issue #15, items 8–11; issue #19).
 *
 * - #19: an internal failure becomes an error reply; the kernel works from a folder outside the repository.
 * - 8: interrupt_request stops a synchronous loop as SIGINT does.
 * - 9: interrupt stops a microtask loop and a loop running from a timer (the cell process is replaced).
 * - 10: process.exit / SIGTERM / abort / heap exhaustion: an error reply, the kernel restarts its
 *   cell process and says so.
 * - 11: no request is aborted by a stop_on_error race, nor a cell by an interrupt meant for the one before.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../kernel/cells/prelude.js";
import { HistoryStore } from "../../kernel/history/index.js";
import { MAX_CELL_STREAM_CHARS } from "../../kernel/output/index.js";
import { KernelClient, ofType, resultText, streamText, type Msg, type StartOptions } from "../kernel/client.js";

const content = (m: Msg) => m.content as Record<string, any>;
/** A kernel's first cell waits for its start (the type checker, forge/viz/datasets): slow on a loaded machine. */
const WARM = { timeoutMs: 120_000 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * FORGE_TEST_KERNEL_ROOT=<another checkout> runs these tests against that checkout's kernel
 * (e.g. `git archive` of an earlier commit, with node_modules linked), for before/after figures.
 */
const otherRoot = process.env.FORGE_TEST_KERNEL_ROOT;
const argv = otherRoot ? [process.execPath, "--disable-warning=ExperimentalWarning", join(otherRoot, "kernel", "launch.mjs"), "--connection-file", "{connection_file}"] : undefined;

/** Kernels started by a test, killed when it is done (a wedged kernel must not outlive it). */
const started: KernelClient[] = [];
async function startKernel(options: StartOptions = {}): Promise<KernelClient> {
  const kernel = await KernelClient.start({ argv, ...options });
  started.push(kernel);
  return kernel;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((k) => k.close()));
});

function sendExecute(kernel: KernelClient, code: string, stopOnError = true): string {
  return kernel.send("shell", "execute_request", { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: stopOnError });
}

/** Wait for the cell's first stream output (it is running), or give up after `ms`. */
async function running(kernel: KernelClient, id: string, ms = 3000): Promise<void> {
  await Promise.race([kernel.waitForOutput(id, (m) => m.header.msg_type === "stream", ms).catch(() => undefined), sleep(ms)]);
  await sleep(150);
}

/** Send interrupt_request; resolves with how long the cell's execute_reply took after it. */
async function interruptAndTime(kernel: KernelClient, id: string, timeoutMs: number): Promise<{ reply: Msg; ms: number }> {
  const sentAt = performance.now();
  kernel.send("control", "interrupt_request", {});
  const reply = await kernel.reply(id, timeoutMs);
  const ms = performance.now() - sentAt;
  console.log(`[hostile] execute_reply ${(ms / 1000).toFixed(2)} s after interrupt_request (${content(reply).status}, ${content(reply).ename ?? ""})`);
  return { reply, ms };
}

/** The kernel told the front-end that its state was lost (a stream message on iopub). */
function toldStateLost(kernel: KernelClient): boolean {
  return kernel.iopub.some((m) => m.header.msg_type === "stream" && /restarted/i.test(String(content(m).text)) && /lost|gone/i.test(String(content(m).text)));
}

describe("issue #19: every request gets a reply, from any working directory", () => {
  it("runs the seed-example cell in a kernel started from an empty folder outside the repository", async () => {
    const kernel = await startKernel({ cwd: mkdtempSync(join(tmpdir(), "forge-notebook-")) });
    const seed = join(REPO_ROOT, "notebooks", "seed-example.toml");
    const code = `const { sequences, config } = await forge.parseUdplFile(${JSON.stringify(seed)});
const program = forge.newProgram(sequences, {}, config);
program.run("setup"); program.loop("control", (l) => l.run("reasoning", { question: "Q?" }), { min: 1, max: 2 }); program.run("conclusion");
const results = await (await forge.defaultSession()).request(config, program.compile()(), { batchSize: 2, seed: 0 });
viz.branchPathChart(results.run)`;
    const { reply, outputs } = await kernel.execute(code, { timeoutMs: 150_000 });
    expect(content(reply).status, JSON.stringify(content(reply))).toBe("ok");
    const result = content(ofType(outputs, "execute_result")[0]!);
    expect(result.data["application/vnd.vegalite.v5+json"]).toMatchObject({ $schema: expect.stringContaining("vega-lite") });
    // The working directory is the notebook's: relative paths resolve there.
    expect(resultText((await kernel.execute("process.cwd()")).outputs)).toMatch(/forge-notebook-/);
  }, 200_000);

  it("turns a failure inside the kernel into an error reply that names it, and keeps serving", async () => {
    // FORGE_KERNEL_FAULT makes the kernel's handler of that message type throw (a test hook).
    const kernel = await startKernel({ env: { FORGE_KERNEL_FAULT: "execute_request" } });
    const { reply, outputs } = await kernel.execute("1 + 1", WARM);
    expect(content(reply).status).toBe("error");
    expect(content(reply).ename).toBe("KernelError");
    expect(content(reply).evalue).toMatch(/execute_request failed inside the kernel: .*FORGE_KERNEL_FAULT/);
    expect(ofType(outputs, "error")).toHaveLength(1);
    const complete = await kernel.reply(kernel.send("shell", "complete_request", { code: "forge.ByteT", cursor_pos: 11 }), 60_000);
    expect(content(complete).matches).toContain("ByteTokenizer");
  }, 240_000);
});

describe("item 8: interrupt_request is as strong as SIGINT", () => {
  it("stops a synchronous while (true) {} within a second, keeping the kernel's state", async () => {
    const kernel = await startKernel();
    await kernel.execute("const kept = 41", WARM);
    const id = sendExecute(kernel, 'console.log("spinning"); while (true) {}', false);
    await running(kernel, id);
    const { reply, ms } = await interruptAndTime(kernel, id, 8000);
    expect(content(reply).status).toBe("error");
    expect(content(reply).ename).toBe("Interrupted");
    expect(ms).toBeLessThan(1000);
    expect(resultText((await kernel.execute("kept + 1", { timeoutMs: 60_000 })).outputs)).toBe("42");
  }, 240_000);
});

describe("item 9: interrupt stops microtask loops and code running from timers", () => {
  it("stops for (;;) { await null }, says the state is lost, and the next cell runs", async () => {
    const kernel = await startKernel();
    await kernel.execute("const before = 1", WARM);
    const id = sendExecute(kernel, 'console.log("looping"); for (;;) { await null }', false);
    await running(kernel, id);
    const { reply, ms } = await interruptAndTime(kernel, id, 10_000);
    expect(content(reply).status).toBe("error");
    expect(content(reply).ename).toBe("Interrupted");
    expect(content(reply).evalue).toMatch(/restarted/);
    expect(ms).toBeLessThan(3000);
    expect(toldStateLost(kernel)).toBe(true);
    expect(content((await kernel.execute("before", { timeoutMs: 60_000 })).reply).evalue).toMatch(/Cannot find name 'before'/);
    expect(resultText((await kernel.execute("1 + 1", { timeoutMs: 60_000 })).outputs)).toBe("2");
  }, 240_000);

  it("stops a while (true) {} started by a timer after its cell finished, and the next cell runs", async () => {
    const kernel = await startKernel();
    const first = await kernel.execute('setTimeout(() => { while (true) {} }, 300); "scheduled"', WARM);
    expect(resultText(first.outputs)).toBe("'scheduled'");
    await sleep(600);
    const queued = sendExecute(kernel, "2 * 3", false); // cannot start: the kernel's thread spins
    await sleep(500);
    const { reply, ms } = await interruptAndTime(kernel, queued, 10_000);
    expect(content(reply).status).toBe("error");
    expect(ms).toBeLessThan(3000);
    expect(toldStateLost(kernel)).toBe(true);
    expect(resultText((await kernel.execute("3 * 3", { timeoutMs: 60_000 })).outputs)).toBe("9");
  }, 240_000);

  it("recovers from a timer loop when interrupted while no cell runs", async () => {
    const kernel = await startKernel();
    await kernel.execute('setTimeout(() => { while (true) {} }, 100); "scheduled"', WARM);
    await sleep(400);
    const interrupt = await kernel.reply(kernel.send("control", "interrupt_request", {}), 5000);
    expect(content(interrupt).status).toBe("ok");
    const deadline = Date.now() + 5000;
    while (!toldStateLost(kernel) && Date.now() < deadline) await sleep(100);
    expect(toldStateLost(kernel)).toBe(true);
    expect(resultText((await kernel.execute("4 * 4", { timeoutMs: 60_000 })).outputs)).toBe("16");
  }, 240_000);
});

describe("item 10: a cell cannot kill the kernel silently", () => {
  it("process.exit() in a cell is an error reply; the kernel and its state stay", async () => {
    const kernel = await startKernel();
    await kernel.execute("const kept = 7", WARM);
    const { reply } = await kernel.execute("process.exit(3)", { timeoutMs: 10_000 });
    expect(content(reply).status).toBe("error");
    expect(content(reply).evalue).toMatch(/process\.exit/);
    expect(resultText((await kernel.execute("kept * 6", { timeoutMs: 60_000 })).outputs)).toBe("42");
    expect(kernel.process.exitCode).toBeNull();
  }, 240_000);

  for (const [what, code] of [
    ["process.kill(process.pid, 'SIGTERM')", "process.kill(process.pid, 'SIGTERM'); await new Promise((r) => setTimeout(r, 5000))"],
    ["process.abort()", "process.abort()"],
  ] as const) {
    it(`${what}: an error reply, an announced restart, and the next cell runs`, async () => {
      const kernel = await startKernel();
      await kernel.execute("1", WARM);
      const { reply } = await kernel.execute(code, { timeoutMs: 10_000 });
      expect(content(reply).status).toBe("error");
      expect(content(reply).ename).toBe("KernelRestarted");
      expect(toldStateLost(kernel)).toBe(true);
      expect(resultText((await kernel.execute("5 + 5", { timeoutMs: 60_000 })).outputs)).toBe("10");
      expect(kernel.process.exitCode).toBeNull();
    }, 240_000);
  }

  it("heap exhaustion: an error reply naming it, an announced restart, and the next cell runs", async () => {
    const kernel = await startKernel({ env: { NODE_OPTIONS: "--max-old-space-size=768" } });
    await kernel.execute("const lost = 1", WARM);
    const { reply } = await kernel.execute("const hog: number[][] = []; for (;;) hog.push(new Array(1e5).fill(Math.random()))", { timeoutMs: 60_000 });
    expect(content(reply).status).toBe("error");
    expect(content(reply).ename).toBe("KernelRestarted");
    expect(content(reply).evalue).toMatch(/out of memory/);
    expect(toldStateLost(kernel)).toBe(true);
    expect(content((await kernel.execute("lost", { timeoutMs: 60_000 })).reply).evalue).toMatch(/Cannot find name 'lost'/);
    expect(resultText((await kernel.execute("6 * 7", { timeoutMs: 60_000 })).outputs)).toBe("42");
  }, 240_000);
});

describe("item 11: no stale aborts", () => {
  it("100 rounds of error then next cell: the next cell is never aborted", async () => {
    const kernel = await startKernel();
    await kernel.execute("1", WARM);
    let aborted = 0;
    for (let round = 0; round < 100; round++) {
      const failed = await kernel.reply(sendExecute(kernel, `throw new Error("round ${round}")`), 20_000);
      expect(content(failed).status).toBe("error");
      const next = await kernel.reply(sendExecute(kernel, `${round}`), 20_000);
      if (content(next).status === "aborted") aborted++;
    }
    console.log(`[hostile] ${aborted} of 100 cells sent just after an error reply were aborted`);
    expect(aborted).toBe(0);
    // Cells queued behind the failed one are still aborted (stop_on_error).
    const a = sendExecute(kernel, "await new Promise((r) => setTimeout(r, 200)); throw new Error('first')");
    const b = sendExecute(kernel, "'second'");
    expect(content(await kernel.reply(a)).status).toBe("error");
    expect(content(await kernel.reply(b)).status).toBe("aborted");
    expect(streamText(await kernel.outputs(b), "stderr")).toMatch(/Not run: an earlier cell failed/);
  }, 400_000);

  it("an interrupt meant for a busy cell does not abort the cell queued behind it", async () => {
    const kernel = await startKernel();
    await kernel.execute("1", WARM);
    const busy = sendExecute(kernel, 'console.log("busy"); const end = Date.now() + 1500; while (Date.now() < end) {} "done"', false);
    const next = sendExecute(kernel, 'await new Promise((r) => setTimeout(r, 300)); "next"', false);
    await running(kernel, busy, 1000);
    kernel.send("control", "interrupt_request", {});
    await kernel.reply(busy, 10_000);
    const reply = await kernel.reply(next, 10_000);
    expect(content(reply).status, JSON.stringify(content(reply))).toBe("ok");
    expect(resultText(await kernel.outputs(next))).toBe("'next'");
  }, 240_000);

  it("an interrupt sent while the kernel is idle does not touch the next cell", async () => {
    const kernel = await startKernel();
    await kernel.execute("1", WARM);
    await kernel.reply(kernel.send("control", "interrupt_request", {}), 5000);
    kernel.process.kill("SIGINT");
    await sleep(100);
    const { reply, outputs } = await kernel.execute('await new Promise((r) => setTimeout(r, 300)); "after"', { timeoutMs: 10_000 });
    expect(content(reply).status).toBe("ok");
    expect(resultText(outputs)).toBe("'after'");
  }, 240_000);
});

describe("session 7: a history search cannot hold the kernel", () => {
  it("answers a history_request whose glob backtracks exponentially as a regex, and the next request too (was held for minutes)", async () => {
    // An earlier session's history (the store searches every session) holding a cell of 40 "a"s.
    const file = join(mkdtempSync(join(tmpdir(), "forge-hostile-history-")), "history.sqlite");
    const earlier = new HistoryStore(file);
    earlier.record(1, "a".repeat(40));
    earlier.record(2, "a".repeat(39) + "b");
    earlier.close();
    const kernel = await startKernel({ env: { FORGE_KERNEL_HISTORY: file } });
    const started = performance.now();
    const id = kernel.send("shell", "history_request", { output: false, raw: true, hist_access_type: "search", pattern: "*a*a*a*a*a*a*a*a*a*a*b", unique: false });
    const reply = await kernel.reply(id, 20_000);
    expect(content(reply)).toMatchObject({ status: "ok" });
    expect(content(reply).history.map((entry: [number, number, string]) => entry[2])).toEqual(["a".repeat(39) + "b"]);
    expect(performance.now() - started).toBeLessThan(10_000);
    const info = await kernel.reply(kernel.send("shell", "kernel_info_request", {}), 10_000);
    expect(info.header.msg_type).toBe("kernel_info_reply");
    const tooLong = await kernel.reply(kernel.send("shell", "history_request", { output: false, raw: true, hist_access_type: "search", pattern: "*".repeat(2000) }), 10_000);
    expect(content(tooLong)).toMatchObject({ status: "error" });
    expect(content(tooLong)).toMatchObject({
      ename: "HistoryRequestError",
      evalue: "history_request content.pattern: the search pattern has 2000 characters, over MAX_HISTORY_PATTERN_LENGTH = 1024",
      traceback: ["HistoryRequestError: history_request content.pattern: the search pattern has 2000 characters, over MAX_HISTORY_PATTERN_LENGTH = 1024"],
    });
    // A field of the wrong type names the field (was SQLite's "Too few parameter values were provided" with a stack trace).
    const malformed = await kernel.reply(kernel.send("shell", "history_request", { output: false, raw: true, hist_access_type: "range", session: "x", start: {}, stop: [] }), 10_000);
    expect(content(malformed)).toMatchObject({ status: "error", ename: "HistoryRequestError", evalue: 'history_request content.session: must be an integer, got "x"' });
    expect(content(malformed).traceback).toHaveLength(1);
  }, 60_000);
});

describe("session 7: a cell's printed output is bounded", () => {
  it("a 100 MB print reaches the front-end as 16 MiB and a notice, and the next cell runs (was one 100 MB message, 16 s)", async () => {
    const kernel = await startKernel();
    await kernel.execute("1", WARM);
    const started = performance.now();
    const { reply, outputs } = await kernel.execute("console.log('x'.repeat(100_000_000)); 'done'", { timeoutMs: 60_000 });
    const ms = performance.now() - started;
    expect(content(reply).status).toBe("ok");
    expect(streamText(outputs, "stdout").length).toBe(MAX_CELL_STREAM_CHARS);
    expect(streamText(outputs, "stderr")).toMatch(/output cut: this cell printed more than MAX_CELL_STREAM_CHARS = 16777216 characters/);
    expect(streamText(outputs, "stderr")).toMatch(/\[83222785 more characters of this cell's output were not shown\]/); // 100 000 001 − 16 777 216
    expect(resultText(outputs)).toBe("'done'");
    console.log(`[hostile] 100 MB print answered in ${(ms / 1000).toFixed(1)} s`);
    const next = await kernel.execute("2 + 2", { timeoutMs: 30_000 });
    expect(resultText(next.outputs)).toBe("4");
  }, 240_000);
});
