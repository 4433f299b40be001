import { describe, expect, it } from "vitest";
import {
  deriveRun,
  loopIterations,
  pathSignature,
  RunTraceError,
  sequenceVisits,
  streamPath,
  type StreamTrace,
} from "../../../forge/run/index.js";
import { ByteTokenizer } from "../../../forge/tokenizer/byte.js";
import {
  LOOP_SITE,
  loopWhenWorkflow as workflow,
  metaFor,
  prompt,
  SETUP,
  traceOf,
  walk,
  WHEN_SITE,
} from "../../fixtures/runs/workflow.js";

const tokenizer = new ByteTokenizer();

/** A: one loop iteration, then the if-branch. B: three iterations, forced exit, else-branch.
 * C: cut off (truncated) inside the first reasoning answer. Given out of instance order. */
const traceA = traceOf(workflow, tokenizer, 0, walk(1, "yes"), "done");
const traceB = traceOf(workflow, tokenizer, 1, walk(3, "no"), "done");
const traceC = traceOf(
  workflow,
  tokenizer,
  2,
  [...SETUP, prompt(workflow, 2), { zone: 3, generated: " Go on.[EOS]", exit: "advance" }, prompt(workflow, 4), { zone: 5, generated: " Half a th" }],
  "truncated",
);
const run = deriveRun({ meta: metaFor(workflow, 3), workflow, streams: [traceC, traceA, traceB] }, tokenizer);

const len = (...texts: string[]) => texts.reduce((sum, t) => sum + t.length, 0);
const text = (zoneId: number) => workflow.zones[zoneId]!.text;

describe("deriveRun on hand-built traces of a loop + when workflow", () => {
  it("puts streams in instance order", () => {
    expect(run.streams.map((s) => s.instance)).toEqual([0, 1, 2]);
  });

  it("extracts the tagged zones' text without zone patterns, one line per visit", () => {
    expect(run.extractions["training_data"]).toEqual(["Step 0.", "Step 0.\nStep 1.\nStep 2.", "Half a th"]);
    expect(run.extractions["verdicts"]).toEqual([
      "Step 0.\nBecause.\nDone.",
      "Step 0.\nStep 1.\nStep 2.\nUnsure.\nDone.",
      "Half a th",
    ]);
  });

  it("cuts each stream into zone visits with step ranges and jump flags", () => {
    const a = run.paths[0]!;
    expect(a.map((s) => s.zoneId)).toEqual([0, 1, 2, 3, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13]);
    expect(a.filter((s) => s.jumped).map((s) => s.zoneId)).toEqual([LOOP_SITE]);
    expect(a[0]).toMatchObject({ sequence: "setup", block: 0, zone: 0, stepStart: 0, stepEnd: text(0).length });
    expect(a[1]).toMatchObject({ zone: 1, stepStart: text(0).length, stepEnd: len(text(0), text(1)) });
    // Segments tile the stream with no gap.
    for (let i = 1; i < a.length; i++) expect(a[i]!.stepStart).toBe(a[i - 1]!.stepEnd);
    expect(a[a.length - 1]!.stepEnd).toBe(traceA.tokens.length);

    const b = run.paths[1]!;
    expect(b.filter((s) => s.zoneId === LOOP_SITE).map((s) => s.jumped)).toEqual([false, false, false, true]);
    expect(b.find((s) => s.zoneId === WHEN_SITE)!.jumped).toBe(true);
    expect(run.paths[2]!.map((s) => s.zoneId)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("counts jump-site visits, jumps taken and forced exits", () => {
    expect(run.statistics.jumpSites).toEqual([
      { zoneId: LOOP_SITE, sequence: "control", block: 0, visits: 2 + 4 + 1, taken: 1, forced: 1, streamsTaking: 1 },
      { zoneId: WHEN_SITE, sequence: "decide", block: 0, visits: 2, taken: 1, forced: 0, streamsTaking: 1 },
    ]);
  });

  it("counts loop body iterations per stream", () => {
    expect(run.statistics.loops).toEqual([{ zoneId: LOOP_SITE, sequence: "control", iterations: [1, 3, 0] }]);
  });

  it("counts generated and forced tokens per stream and per sequence", () => {
    const s = run.statistics;
    expect(s.generatedTokens[0]).toBe(
      len(" Go on 0.[EOS]", " Step 0.[EOS]", " Stop.[Jump]", " Yes.[EOS]", " Because.[EOS]", " Done.[EOS]"),
    );
    expect(s.forcedTokens[0]).toBe(len(text(0), text(1), text(2), text(4), text(2), text(6), text(8), text(12)));
    expect(s.generatedTokens[2]).toBe(len(" Go on.[EOS]", " Half a th"));
    expect(s.length).toEqual(run.streams.map((t) => t.tokens.length));
    expect(s.bySequence["yes"]).toEqual({ generated: len(" Because.[EOS]"), forced: len(text(8)) });
    expect(s.bySequence["no"]).toEqual({ generated: len(" Unsure.[EOS]"), forced: len(text(10)) });
    expect(s.bySequence["decide"]).toEqual({ generated: len(" Yes.[EOS]", " No.[Jump]"), forced: 2 * len(text(6)) });
    expect(s.bySequence["control"]!.forced).toBe((2 + 4 + 1) * len(text(2)));
    const total = Object.values(s.bySequence).reduce((n, c) => n + c.generated + c.forced, 0);
    expect(total).toBe(s.length.reduce((a, b) => a + b, 0));
  });

  it("counts statuses", () => {
    expect(run.statistics.status).toEqual({ done: 2, truncated: 1, timeout: 0, interrupted: 0, tool_error: 0 });
  });
});

describe("paths and signatures", () => {
  it("groups a path into sequence visits, a loop's return to its head starting a new one", () => {
    expect(pathSignature(run.paths[0]!)).toBe("setup > control > reasoning > control > decide > yes > conclusion");
    expect(pathSignature(run.paths[1]!)).toBe(
      "setup > control > reasoning > control > reasoning > control > reasoning > control > decide > no > conclusion",
    );
    const visits = sequenceVisits(run.paths[0]!);
    expect(visits[1]).toMatchObject({ sequence: "control", segmentStart: 2, segmentEnd: 4, jumped: false });
    expect(visits[3]).toMatchObject({ sequence: "control", jumped: true });
  });

  it("splits a zone that transitions back to itself into two visits", () => {
    // Hand-written arrays: zone 2 advances at step 1 and, in this made-up trace, re-enters itself.
    const trace: StreamTrace = {
      instance: 0,
      tokens: Int32Array.from([65, 66, 67, 68]),
      pcs: Int32Array.from([2, 2, 2, 2]),
      forced: Uint8Array.from([1, 1, 0, 0]),
      events: [{ step: 1, kind: "advance", zone: 2, target: 2 }],
      status: "interrupted",
    };
    expect(streamPath(workflow, trace).map((s) => [s.stepStart, s.stepEnd])).toEqual([
      [0, 2],
      [2, 4],
    ]);
  });

  it("sums loop iterations over separate entries of the loop", () => {
    const segment = (zoneId: number, jumped = false) => ({
      zoneId, sequence: "x", block: 0, zone: 0, repetition: 0, stepStart: 0, stepEnd: 1, jumped,
    });
    // Entered twice: 3 visits (2 iterations) then exit, 2 visits (1 iteration) then exit.
    const path = [segment(3), segment(5), segment(3), segment(5), segment(3, true), segment(9), segment(3), segment(5), segment(3, true)];
    expect(loopIterations(path, 3)).toBe(3);
  });
});

describe("padding and malformed traces", () => {
  it("ignores padding tokens in extractions and token counts", () => {
    const clean = traceOf(workflow, tokenizer, 0, walk(0, "yes"), "done");
    // The stream held (emitted padding, marked forced) for two steps inside the conclusion answer.
    const at = clean.tokens.length - 4;
    const insert = <T extends Int32Array | Uint8Array>(a: T, value: number): T => {
      const out = new (a.constructor as new (n: number) => T)(a.length + 2);
      out.set(a.subarray(0, at));
      out[at] = value;
      out[at + 1] = value;
      out.set(a.subarray(at), at + 2);
      return out;
    };
    const held: StreamTrace = {
      ...clean,
      tokens: insert(clean.tokens, tokenizer.padId),
      pcs: insert(clean.pcs, 13),
      forced: insert(clean.forced, 1),
      events: clean.events.map((e) => (e.step >= at ? { ...e, step: e.step + 2 } : e)),
    };
    const meta = metaFor(workflow, 1);
    const padded = deriveRun({ meta, workflow, streams: [held] }, tokenizer);
    const plain = deriveRun({ meta, workflow, streams: [clean] }, tokenizer);
    expect(padded.statistics.generatedTokens).toEqual(plain.statistics.generatedTokens);
    expect(padded.statistics.forcedTokens).toEqual(plain.statistics.forcedTokens);
    expect(padded.statistics.length[0]).toBe(plain.statistics.length[0]! + 2);
    expect(padded.extractions["verdicts"]).toEqual(["Because.\nDone."]);
    expect(padded.paths[0]!.at(-1)).toMatchObject({ zoneId: 13, stepEnd: held.tokens.length });
  });

  it("names the stream and step of a pc outside the workflow", () => {
    const bad = traceOf(workflow, tokenizer, 0, walk(0, "yes"), "done");
    bad.pcs[5] = 99;
    expect(() => deriveRun({ meta: metaFor(workflow, 1), workflow, streams: [bad] }, tokenizer)).toThrowError(
      new RunTraceError(0, 5, "pc 99 is not a zone of the workflow (it has 14 zones)"),
    );
  });

  it("rejects arrays of different lengths and events on the wrong zone", () => {
    const short = traceOf(workflow, tokenizer, 0, walk(0, "yes"), "done");
    short.forced = short.forced.subarray(1);
    expect(() => deriveRun({ meta: metaFor(workflow, 1), workflow, streams: [short] }, tokenizer)).toThrow(
      /stream 0: tokens, pcs and forced must have one entry per step/,
    );
    const wrong = traceOf(workflow, tokenizer, 0, walk(0, "yes"), "done");
    wrong.events[0] = { ...wrong.events[0]!, zone: 4 };
    expect(() => deriveRun({ meta: metaFor(workflow, 1), workflow, streams: [wrong] }, tokenizer)).toThrow(
      /stream 0, step 25: advance event says zone 4 but the token was emitted in zone 0/,
    );
  });
});
