/** The result body in slices: the same bytes as one JSON.stringify, with turns of the event loop between slices. */
import { describe, expect, it } from "vitest";
import * as forge from "../../../../forge/index.js";
import { jsonChunks, runJsonChunks, runJsonStream, RESULT_SLICE_MS } from "../../../../forge/transport/http/result-json.js";
import { seedExample, testBackend } from "./helpers.js";

async function text(chunks: AsyncGenerator<string>): Promise<string> {
  let all = "";
  for await (const chunk of chunks) all += chunk;
  return all;
}

describe("runJsonChunks", () => {
  it("writes JSON.stringify(encodeRun(run, arrays))'s bytes for a real run, both encodings, with and without logprobs", async () => {
    const backend = await testBackend();
    for (const logprobs of [false, { top: 3 }] as const) {
      const run = await backend.run(seedExample(6).factory(), { batchSize: 4, instances: 7, seed: 5, logprobs });
      for (const arrays of ["base64", "list"] as const) {
        const expected = JSON.stringify(forge.encodeRun(run, arrays));
        expect(await text(runJsonChunks(run, arrays))).toBe(expected);
        let streamed = "";
        for await (const chunk of runJsonStream(run, arrays)) streamed += chunk as string;
        expect(streamed).toBe(expected);
      }
    }
  });
});

describe("jsonChunks", () => {
  it("writes what JSON.stringify writes for plain data and its corner cases", async () => {
    const nullProto = Object.assign(Object.create(null) as object, { a: 1, "quote\"key": [2] });
    const cases: unknown[] = [
      { a: undefined, b: () => 1, c: Symbol("s"), d: [undefined, () => 1, Symbol("s"), null], e: NaN, f: -Infinity, g: "é\u2028\"\\" },
      { deep: { deeper: { deepest: { x: [1, [2, [3, { y: undefined }]]] } } } },
      { date: new Date(0), custom: { toJSON: () => "custom" }, map: new Map([[1, 2]]), nullProto, empty: {}, none: [] },
      [[], {}, [[]], "x", 0, true, false, null],
      "top-level string",
      42,
    ];
    for (const value of cases) expect(await text(jsonChunks(value))).toBe(JSON.stringify(value));
  });

  it("gives the event loop a turn while writing a large value, and no stretch runs far past the slice", async () => {
    const rows = Array.from({ length: 40_000 }, (_, i) => ({ i, tokens: Array.from({ length: 50 }, (_, j) => i * j), text: "row ".repeat(10) }));
    let turns = 0;
    let longestMs = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      turns++;
      const now = performance.now();
      longestMs = Math.max(longestMs, now - last);
      last = now;
    }, 1);
    const all = await text(jsonChunks({ rows }));
    clearInterval(ticker);
    expect(all).toBe(JSON.stringify({ rows }));
    // ~17 MB of JSON takes hundreds of ms; in one piece the timer could not fire at all.
    expect(turns).toBeGreaterThan(5);
    console.log(`[result-json] ${(all.length / 1e6).toFixed(1)} MB, ${turns} timer turns, longest gap ${longestMs.toFixed(0)} ms (slice ${RESULT_SLICE_MS} ms)`);
    expect(longestMs).toBeLessThan(250); // the shared machine and GC add their stalls to the 10 ms slices
  });
});
