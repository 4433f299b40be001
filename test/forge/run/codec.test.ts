/** Run ⇄ wire JSON: typed arrays survive exactly, in both encodings; malformed input is named. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { Run, StreamTrace } from "../../../forge/run/types.js";
import { decodeRun, encodeRun, WireError } from "../../../forge/run/index.js";
import { SZCP_FORMAT, SZCP_VERSION } from "../../../forge/szcp/types.js";

function makeRun(streams: StreamTrace[]): Run {
  return {
    meta: {
      runId: "r", seed: 7, workflowHash: "abc", backend: "wasm", model: "m", tokenizer: "t", batchSize: 2, instances: streams.length,
      startedAt: "2026-01-01T00:00:00.000Z", wallMs: 12, steps: 3, interrupted: false,
      sampling: { greedy: false, temperature: 1, topK: null, topP: null },
    },
    workflow: {
      format: SZCP_FORMAT, version: SZCP_VERSION,
      config: { zoneTokens: ["[P]", "[A]", "[E]"], controlToken: "[J]", escape: null, tokenizerOverride: {}, tools: [] },
      zones: [], counters: 0, extractions: [], meta: {},
    },
    streams,
    extractions: { answer: streams.map((_, i) => `text ${i} ✓`) },
    paths: streams.map(() => [{ zoneId: 0, sequence: "s", block: 0, zone: 0, repetition: 0, stepStart: 0, stepEnd: 2, jumped: false }]),
    statistics: {
      jumpSites: [], loops: [], generatedTokens: streams.map(() => 1), forcedTokens: streams.map(() => 1), length: streams.map((s) => s.tokens.length),
      bySequence: { s: { generated: 1, forced: 1 } }, status: { done: 1, truncated: 0, timeout: 0, interrupted: 0, tool_error: 0 },
    },
  };
}

const streamArb = fc.integer({ min: 0, max: 40 }).chain((n) =>
  fc.record({
    instance: fc.nat(1000),
    tokens: fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { minLength: n, maxLength: n }).map((a) => Int32Array.from(a)),
    pcs: fc.array(fc.integer({ min: -1, max: 500 }), { minLength: n, maxLength: n }).map((a) => Int32Array.from(a)),
    forced: fc.array(fc.integer({ min: 0, max: 1 }), { minLength: n, maxLength: n }).map((a) => Uint8Array.from(a)),
    events: fc.constant([{ step: 0, kind: "advance" as const, zone: 0, target: 1 }]),
    status: fc.constantFrom("done" as const, "timeout" as const, "tool_error" as const),
  }).map((stream): StreamTrace => ({ ...stream, events: [...stream.events] })), // fast-check may build null-prototype records
);

describe("encodeRun / decodeRun", () => {
  it("round-trips random traces exactly through JSON text, in base64 and list encodings", () => {
    fc.assert(
      fc.property(fc.array(streamArb, { maxLength: 5 }), fc.constantFrom("base64" as const, "list" as const), (streams, encoding) => {
        const run = makeRun(streams);
        const back = decodeRun(JSON.parse(JSON.stringify(encodeRun(run, encoding))));
        expect(back).toStrictEqual(run);
        for (const s of back.streams) {
          expect(s.tokens).toBeInstanceOf(Int32Array);
          expect(s.pcs).toBeInstanceOf(Int32Array);
          expect(s.forced).toBeInstanceOf(Uint8Array);
        }
      }),
      { numRuns: 100 },
    );
  });

  it("keeps a stream's message and sends tokens as base64 by default", () => {
    const stream: StreamTrace = {
      instance: 0, tokens: Int32Array.from([1, -2, 70000]), pcs: Int32Array.from([0, 0, 1]), forced: Uint8Array.from([1, 0, 0]),
      events: [], status: "tool_error", message: "search: timed out",
    };
    const wire = encodeRun(makeRun([stream]));
    expect(typeof wire.streams[0]!.tokens).toBe("string");
    expect(decodeRun(JSON.parse(JSON.stringify(wire))).streams[0]!.message).toBe("search: timed out");
  });

  it("reports a malformed run with where it is wrong", () => {
    expect(() => decodeRun({ format: "forge.run" })).toThrow(WireError);
    const wire = JSON.parse(JSON.stringify(encodeRun(makeRun([{ instance: 0, tokens: Int32Array.from([1]), pcs: Int32Array.from([0]), forced: Uint8Array.from([0]), events: [], status: "done" }]))));
    wire.streams[0].tokens = Buffer.from([1, 2, 3]).toString("base64");
    expect(() => decodeRun(wire)).toThrow(/streams\[0\]\.tokens: 3 bytes is not a whole number of int32/);
    wire.streams[0].tokens = [1, 2];
    expect(() => decodeRun(wire)).toThrow(/streams\[0\]: tokens, pcs and forced have different lengths/);
  });
});
