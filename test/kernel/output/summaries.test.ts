import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { librarySummary, textPlain } from "../../../kernel/output/index.js";

/** A Run as the engine returns it, with the token arrays that make util.inspect's dump long. */
function fakeRun(streams: number) {
  return {
    meta: { runId: "1a2b3c4d-0000-4000-8000-000000000000", model: "tiny-gpt2", backend: "wasm", wallMs: 13_200, steps: 812, interrupted: false, seed: 1 },
    workflow: { zones: [], config: {} },
    streams: Array.from({ length: streams }, (_, i) => ({ instance: i, tokens: new Int32Array(500), pcs: new Int32Array(500), forced: new Uint8Array(500), events: [], status: "done" })),
    extractions: { training_data: Array.from({ length: streams }, (_, i) => `answer number ${i} `.repeat(20)) },
    paths: [],
    statistics: { generatedTokens: Array(streams).fill(100), forcedTokens: Array(streams).fill(50), status: { done: streams - 1, truncated: 1, timeout: 0, interrupted: 0, tool_error: 0 } },
  };
}

describe("library objects as a short text", () => {
  it("a Run: streams and how they ended, generated and forced tokens, steps, time, extractions", () => {
    const run = fakeRun(64);
    expect(librarySummary(run)).toBe(
      "Run 1a2b3c4d: 64 streams (63 done, 1 truncated) · 6,400 generated + 3,200 forced tokens · 812 steps in 13 s · tiny-gpt2 on wasm · extractions: training_data (64 texts)\n" +
        "(run.streams, run.paths, run.statistics, run.meta hold the rest; viz.* charts it)",
    );
    expect(inspect(run, { depth: 4 }).length).toBeGreaterThan(10 * textPlain(run).length);
  });

  it("a request's result: its extractions, the first text cut short, and the run", () => {
    const run = fakeRun(8);
    const result = { ...run.extractions };
    Object.defineProperty(result, "run", { value: run, enumerable: false });
    const text = textPlain(result);
    expect(text.split("\n")).toEqual([
      "Result of 8 streams: training_data (8 texts)",
      expect.stringMatching(/^ {2}training_data\[0\]: "answer number 0 answer number 0 .{40,}…"$/),
      expect.stringMatching(/^ {2}result\.run: Run 1a2b3c4d: 8 streams/),
    ]);
  });

  it("a Session names where it runs; a backend its model, tokenizer, engine", () => {
    expect(librarySummary({ server: { address: null, submit() {} }, request() {} })).toMatch(/^Session \(in this process\): session\.request/);
    expect(librarySummary({ server: { address: "http://127.0.0.1:8080", submit() {} }, request() {} })).toMatch(/^Session \(at http:\/\/127\.0\.0\.1:8080\)/);
    const backend = { tokenizer: {}, model: {}, engine: "onnxruntime", run() {}, check() {}, info: () => ({ model: "tiny", tokenizer: "byte", backend: "wasm", contextLength: 2048, tools: ["search"] }) };
    expect(librarySummary(backend)).toBe("ForgeBackend: model tiny · tokenizer byte · tfjs backend wasm · engine onnxruntime · context 2,048 tokens · tools: search");
  });

  it("anything else is util.inspect's, and a getter that throws falls back to it", () => {
    expect(librarySummary({ a: 1 })).toBeNull();
    expect(textPlain({ a: [1, 2] })).toBe("{ a: [ 1, 2 ] }");
    expect(textPlain("text")).toBe("'text'");
    const hostile = { get meta(): never { throw new Error("no") } };
    expect(librarySummary(hostile)).toBeNull();
  });
});
