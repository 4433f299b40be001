/**
 * The kernel driven by a real zeromq client (test/kernel/client.ts): protocol replies,
 * the preloaded globals, display, interrupt, progress, robustness and shutdown.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MessageSigner, encodeMessage, makeHeader } from "../../kernel/protocol/index.js";
import { KernelClient, ofType, resultText, streamText, type Msg } from "./client.js";

const content = (m: Msg) => m.content as Record<string, any>;

/** A cell that behaves like a long session.request: polls the ambient signal, reports progress. */
const LONG_RUN_CELL = `
const signal = ambient.ambientSignal();
const report = ambient.ambientProgress();
const streams = 2000;
const started = performance.now();
let done = 0;
while (!signal?.aborted && done < streams) {
  await new Promise((r) => setTimeout(r, 5));
  done++;
  const elapsedMs = performance.now() - started;
  report?.({ streamsDone: done, streams, step: done, tokens: done * 8, tokensPerSecond: (done * 8000) / elapsedMs, generatedTokens: done * 2, forcedTokens: done * 6, generatedTokensPerSecond: (done * 2000) / elapsedMs, fraction: done / streams, elapsedMs, etaMs: ((streams - done) * elapsedMs) / done, finished: false });
}
report?.({ streamsDone: done, streams, step: done, tokens: done * 8, tokensPerSecond: 0, generatedTokens: done * 2, forcedTokens: done * 6, generatedTokensPerSecond: 0, fraction: 1, elapsedMs: performance.now() - started, etaMs: 0, finished: true });
({ streamsDone: done, interrupted: signal?.aborted ?? false })
`;

/** Wait until the long run has reported progress twice: it is running, past type-checking. */
async function runIsUnderway(kernel: KernelClient, id: string): Promise<void> {
  await kernel.waitForOutput(id, (m) => m.header.msg_type === "update_display_data");
}

describe("kernel over zeromq", () => {
  let kernel: KernelClient;
  beforeAll(async () => {
    kernel = await KernelClient.start();
  });
  afterAll(async () => {
    await kernel?.close();
  });

  it("answers kernel_info with status and the TypeScript language_info", async () => {
    const reply = await kernel.reply(kernel.send("shell", "kernel_info_request", {}));
    expect(content(reply).status).toBe("ok");
    expect(content(reply).protocol_version).toBe("5.3");
    expect(content(reply).language_info).toMatchObject({ name: "typescript", file_extension: ".ts", mimetype: "text/typescript" });
    expect(content(reply).language_info.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("has forge, viz and datasets in the first cell, typed", async () => {
    // The first cell waits for the kernel's start (the type checker, forge/viz/datasets): room for a loaded machine.
    const { reply, outputs } = await kernel.execute("[typeof forge.ByteTokenizer, typeof viz, typeof datasets, new forge.ByteTokenizer().vocabSize]", { timeoutMs: 120_000 });
    expect(content(reply).status).toBe("ok");
    expect(resultText(outputs)).toBe("[ 'function', 'object', 'object', 257 ]");
    // Types: a wrong use of forge is a type error before running.
    const bad = await kernel.execute("const n: string = new forge.ByteTokenizer().vocabSize");
    expect(content(bad.reply).status).toBe("error");
    expect(content(bad.reply).ename).toBe("TypeScriptError");
    expect(content(bad.reply).evalue).toMatch(/<cell-\d+>:1:\d+: .*'number' is not assignable to type 'string'/);
  }, 150_000);

  it("completes and inspects the preloaded modules", async () => {
    const code = "forge.ByteT";
    const complete = await kernel.reply(kernel.send("shell", "complete_request", { code, cursor_pos: code.length }));
    expect(content(complete).matches).toContain("ByteTokenizer");
    expect(content(complete).cursor_start).toBe(6);
    expect(content(complete).cursor_end).toBe(code.length);
    const inspect = await kernel.reply(kernel.send("shell", "inspect_request", { code: "forge", cursor_pos: 5, detail_level: 0 }));
    expect(content(inspect).found).toBe(true);
    expect(content(inspect).data["text/plain"]).toContain("forge/index");
  });

  it("sends a real execution_count on execute_input and on execute_result", async () => {
    const first = await kernel.execute("1 + 1");
    const second = await kernel.execute("2 + 2");
    const countOf = (outputs: Msg[], type: string) => content(ofType(outputs, type)[0]!).execution_count as number;
    expect(countOf(second.outputs, "execute_input")).toBe(countOf(first.outputs, "execute_input") + 1);
    expect(countOf(second.outputs, "execute_result")).toBe(content(second.reply).execution_count);
    expect(resultText(second.outputs)).toBe("4");
  });

  it("shows a Vega-Lite chart drawn in a cell (the kernel's ESM import of viz, not require)", async () => {
    const { reply, outputs } = await kernel.execute(
      `display.vegalite({ $schema: "https://vega.github.io/schema/vega-lite/v5.json", data: { values: [{ a: 1 }, { a: 3 }] }, mark: "bar", encoding: { x: { field: "a", type: "quantitative" } } })`,
    );
    expect(content(reply).status).toBe("ok");
    const shown = ofType(outputs, "display_data")[0]!;
    expect(content(shown).data["application/vnd.vegalite.v5+json"]).toMatchObject({ mark: "bar" });
    expect(content(shown).transient.display_id).toEqual(expect.any(String));
  });

  it("answers comm_info_request with comm_info_reply", async () => {
    const reply = await kernel.reply(kernel.send("shell", "comm_info_request", {}));
    expect(reply.header.msg_type).toBe("comm_info_reply");
    expect(content(reply)).toEqual({ status: "ok", comms: {} });
  });

  it("interrupt_request on control stops a long run within a second, with its partial result", async () => {
    const id = kernel.send("shell", "execute_request", { code: LONG_RUN_CELL, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true });
    await runIsUnderway(kernel, id);
    const sentAt = performance.now();
    const interrupt = await kernel.reply(kernel.send("control", "interrupt_request", {}));
    expect(content(interrupt).status).toBe("ok");
    const reply = await kernel.reply(id);
    expect(performance.now() - sentAt).toBeLessThan(1000);
    expect(content(reply).status).toBe("error");
    expect(content(reply).ename).toBe("Interrupted");
    const outputs = await kernel.outputs(id);
    expect(resultText(outputs)).toMatch(/streamsDone: \d+, interrupted: true/);
    expect(ofType(outputs, "error")).toHaveLength(1);
    const next = await kernel.execute("1 + 1");
    expect(resultText(next.outputs)).toBe("2");
  });

  it("SIGINT stops a long run too, and cuts off a cell that ignores its signal", async () => {
    const id = kernel.send("shell", "execute_request", { code: LONG_RUN_CELL, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: false });
    await runIsUnderway(kernel, id);
    let sentAt = performance.now();
    kernel.process.kill("SIGINT");
    const reply = await kernel.reply(id);
    expect(performance.now() - sentAt).toBeLessThan(1000);
    expect(content(reply).ename).toBe("Interrupted");

    const stuck = kernel.send("shell", "execute_request", { code: 'console.log("waiting forever"); await new Promise(() => {})', silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: false });
    await kernel.waitForOutput(stuck, (m) => m.header.msg_type === "stream");
    sentAt = performance.now();
    kernel.send("control", "interrupt_request", {});
    const cut = await kernel.reply(stuck);
    expect(performance.now() - sentAt).toBeLessThan(1000);
    expect(content(cut).evalue).toMatch(/cut off/);
    expect(resultText((await kernel.execute("3 * 3")).outputs)).toBe("9");
  });

  it("shows progress updated in place, ending with a one-line summary", async () => {
    const code = LONG_RUN_CELL.replace("const streams = 2000", "const streams = 150");
    const { reply, outputs } = await kernel.execute(code);
    expect(content(reply).status).toBe("ok");
    const first = ofType(outputs, "display_data")[0]!;
    const id = content(first).transient.display_id;
    expect(content(first).data["text/plain"]).toMatch(/streams done · \d+ % · [\d,]+ generated \([\d,]+\/s\) \+ [\d,]+ forced tokens · step \d+ · [\d.]+ s, (about [\d.]+ s left|estimating time left)$/);
    const updates = ofType(outputs, "update_display_data").filter((m) => content(m).transient.display_id === id);
    // 150 reports over ~1 s, throttled to ~4/s.
    expect(updates.length).toBeGreaterThanOrEqual(2);
    expect(updates.length).toBeLessThan(20);
    const last = content(updates.at(-1)!).data["text/plain"] as string;
    expect(last).toMatch(/^✔ 150\/150 streams · 300 generated \+ 900 forced tokens in [\d.]+ s/);
    expect(last).not.toContain("\n");
  });

  it("reports clear_output, stderr and errors with ename/evalue/traceback", async () => {
    const cleared = await kernel.execute('console.log("a"); clearOutput(true); console.error("b")');
    expect(ofType(cleared.outputs, "clear_output").map((m) => content(m).wait)).toEqual([true]);
    expect(streamText(cleared.outputs, "stderr")).toBe("b\n");
    const failed = await kernel.execute('function inner() { throw new RangeError("too far") }\ninner()');
    expect(content(failed.reply)).toMatchObject({ status: "error", ename: "RangeError", evalue: "too far" });
    const error = ofType(failed.outputs, "error")[0]!;
    expect(content(error).traceback.join("\n")).toMatch(/too far[\s\S]*at inner/);
  });

  it("aborts queued cells after an error only when stop_on_error asks", async () => {
    const a = kernel.send("shell", "execute_request", { code: "await new Promise((r) => setTimeout(r, 200)); throw new Error('first')", stop_on_error: true });
    const b = kernel.send("shell", "execute_request", { code: "'second'", stop_on_error: true });
    expect(content(await kernel.reply(a)).status).toBe("error");
    expect(content(await kernel.reply(b)).status).toBe("aborted");
    expect(streamText(await kernel.outputs(b), "stderr")).toMatch(/Not run: an earlier cell failed/);
    const c = kernel.send("shell", "execute_request", { code: "await new Promise((r) => setTimeout(r, 200)); throw new Error('third')", stop_on_error: false });
    const d = kernel.send("shell", "execute_request", { code: "'fourth'", stop_on_error: true });
    expect(content(await kernel.reply(c)).status).toBe("error");
    expect(content(await kernel.reply(d)).status).toBe("ok");
  });

  it("stays up after a wrong HMAC, malformed frames and unknown message types", async () => {
    const forged = kernel.send("shell", "execute_request", { code: "globalThis.hacked = 1" }, new MessageSigner("not-the-key", "hmac-sha256"));
    await kernel.sendFrames("shell", ["garbage"]);
    await kernel.sendFrames("shell", ["<IDS|MSG>", "sig", "{not json", "{}", "{}", "{}"]);
    await kernel.sendFrames("control", ["<IDS|MSG>"]);
    const unknown = kernel.send("shell", "no_such_request", {});
    const check = await kernel.execute("typeof (globalThis as any).hacked");
    expect(resultText(check.outputs)).toBe("'undefined'");
    expect(kernel.replies.has(forged)).toBe(false);
    expect(kernel.replies.has(unknown)).toBe(false);
    expect(kernel.process.exitCode).toBeNull();
  });

  it("runs 200 executes sent back to back, in order", async () => {
    const ids = Array.from({ length: 200 }, (_, i) =>
      kernel.send("shell", "execute_request", { code: `${i} * 2`, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true }),
    );
    const replies = await Promise.all(ids.map((id) => kernel.reply(id, 170_000)));
    expect(replies.every((r) => content(r).status === "ok")).toBe(true);
    const counts = replies.map((r) => content(r).execution_count as number);
    expect(counts).toEqual(counts.map((_, i) => counts[0]! + i));
    const last = await kernel.outputs(ids.at(-1)!);
    expect(resultText(last)).toBe("398");
  }, 180_000);

  it("reports a promise that rejects after its cell finished, and keeps going", async () => {
    const { reply } = await kernel.execute('setTimeout(() => Promise.reject(new Error("late failure")), 50); "started"');
    expect(content(reply).status).toBe("ok");
    await new Promise((r) => setTimeout(r, 400));
    const late = kernel.iopub.filter((m) => m.header.msg_type === "stream" && String(content(m).text).includes("late failure"));
    expect(late.length).toBe(1);
    expect(String(content(late[0]!).text)).toMatch(/Unhandled promise rejection \(not fatal/);
    expect(resultText((await kernel.execute("5 + 5")).outputs)).toBe("10");
  });

  it("keeps history: tail, range and search", async () => {
    await kernel.execute("const historyMarker = 41");
    await kernel.execute("historyMarker + 1");
    const tail = await kernel.reply(kernel.send("shell", "history_request", { output: true, raw: true, hist_access_type: "tail", n: 2 }));
    const entries = content(tail).history as [number, number, [string, string | null]][];
    expect(entries.map((e) => e[2])).toEqual([["const historyMarker = 41", null], ["historyMarker + 1", "42"]]);
    const [session, line] = entries[1]!;
    const range = await kernel.reply(kernel.send("shell", "history_request", { output: false, raw: true, hist_access_type: "range", session, start: line, stop: line + 1 }));
    expect(content(range).history).toEqual([[session, line, "historyMarker + 1"]]);
    const search = await kernel.reply(kernel.send("shell", "history_request", { output: false, raw: true, hist_access_type: "search", pattern: "*historyMarker*", unique: true }));
    expect((content(search).history as unknown[]).length).toBe(2);
  });
});

describe("kernel shutdown", () => {
  for (const restart of [false, true]) {
    it(`answers shutdown_request (restart: ${restart}) and exits`, async () => {
      const kernel = await KernelClient.start();
      try {
        const reply = await kernel.reply(kernel.send("control", "shutdown_request", { restart }));
        expect(content(reply)).toEqual({ status: "ok", restart });
        expect(await kernel.exited).toBe(0);
      } finally {
        await kernel.close();
      }
    });
  }
});

describe("message signing", () => {
  it("a message signed with the key verifies; one byte changed does not", () => {
    const signer = new MessageSigner("secret", "hmac-sha256");
    const frames = encodeMessage({ header: makeHeader("kernel_info_request", "s"), parent_header: {}, content: {} }, signer).map((f) => Buffer.from(f));
    const [, signature, ...signed] = frames;
    expect(signer.verify(signature!.toString(), signed)).toBe(true);
    signed[3] = Buffer.from('{"x":1}');
    expect(signer.verify(signature!.toString(), signed)).toBe(false);
  });
});
