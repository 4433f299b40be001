/**
 * The reference interpreter's semantics (forge/ttfa/reference.ts header), on hand-written
 * programs with the byte tokenizer so that step counts are exact.
 */
import { describe, expect, it } from "vitest";
import { ByteTokenizer } from "../../../forge/tokenizer/byte.js";
import { compileForBackend, ReferenceInterpreter, runScripted, TtfaEvent, type TtfaProgram } from "../../../forge/ttfa/index.js";
import type { StreamTrace } from "../../../forge/run/types.js";
import { PAIR_ESCAPE, workflow, zone } from "./fixtures.js";

const byte = new ByteTokenizer();
const enc = (s: string) => byte.encode(s);
const text = (trace: StreamTrace, from = 0, to = trace.tokens.length) => byte.decode(trace.tokens.slice(from, to));

/** The model "generates" `script` from its first generated position on (forced steps skip it), then '.' forever. */
function generating(script: string): (i: number, state: { feedPtr: number; feedEnd: number }) => number {
  const tokens = enc(script);
  let used = 0;
  return (_i, state) => (state.feedPtr < state.feedEnd ? 0 : (tokens[used++] ?? 46));
}

describe("ReferenceInterpreter", () => {
  it("feeds prompts, passes generation through, advances and finishes", () => {
    const program = compileForBackend(
      workflow([zone({ text: "[Prompt]Q?", advance: "[Answer]", next: 1 }), zone({ text: "[Answer]", advance: "[EOS]" })]),
      byte,
    );
    const trace = runScripted(program, generating("hi[Answer]yes[EOS]"), 100);
    expect(text(trace)).toBe("[Prompt]Q?hi[Answer][Answer]yes[EOS]");
    expect(Array.from(trace.forced)).toEqual([...Array(10).fill(1), ...Array(10).fill(0), ...Array(8).fill(1), ...Array(8).fill(0)]);
    expect(Array.from(trace.pcs)).toEqual([...Array(20).fill(0), ...Array(16).fill(1)]);
    expect(trace.events).toEqual([
      { step: 19, kind: "advance", zone: 0, target: 1 },
      { step: 35, kind: "advance", zone: 1, target: -1 },
    ]);
    expect(trace.status).toBe("done");
    // Past the end: padding, nothing recorded.
    const interpreter = new ReferenceInterpreter(program);
    const script = generating("hi[Answer]yes[EOS]");
    for (let i = 0; i < 36; i++) interpreter.step(script(i, interpreter));
    expect(interpreter.done).toBe(true);
    expect(interpreter.step(65)).toEqual({ token: byte.padId, pc: 2, forced: 0, event: TtfaEvent.PAD, nextPc: 2, done: 1, record: 0 });
  });

  it("times out: injects the advance pattern after maxGen generated tokens, even inside an escape", () => {
    const program = compileForBackend(
      workflow([zone({ text: "P", advance: "[EOS]", maxGen: 4 })], { escape: PAIR_ESCAPE }),
      byte,
    );
    const trace = runScripted(program, generating("a<<b[EOS]c"), 100);
    expect(text(trace)).toBe("Pa<<b[EOS]");
    expect(Array.from(trace.forced)).toEqual([1, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    expect(trace.events).toEqual([
      { step: 5, kind: "timeout", zone: 0 },
      { step: 9, kind: "advance", zone: 0, target: -1 },
    ]);
    expect(trace.status).toBe("timeout");
  });

  it("an advance inside the forced prompt moves at once and drops the rest of the prompt", () => {
    const program = compileForBackend(
      workflow([zone({ text: "a[EOS]dropped", advance: "[EOS]", next: 1 }), zone({ text: "Z", advance: "[EOS]", maxGen: 0 })]),
      byte,
    );
    const trace = runScripted(program, () => 46, 100);
    expect(text(trace)).toBe("a[EOS]Z[EOS]");
    expect(trace.status).toBe("timeout");
  });

  it("ignores the control pattern outside jump sites (no event) and takes it at one", () => {
    const zones = [
      zone({ text: "", advance: "[Answer]", next: 1 }),
      zone({ text: "", advance: "[Answer]", next: -1, jump: -1 }),
    ];
    const trace = runScripted(compileForBackend(workflow(zones), byte), generating("[Jump][Answer][Jump]"), 100);
    expect(trace.events.map((e) => [e.kind, e.zone, e.target])).toEqual([
      ["advance", 0, 1],
      ["jump", 1, -1],
    ]);
  });

  describe("loops", () => {
    // 0: head (jump site, counter 0) → body 1 nominally, → 2 by jump; 1: body → 0; 2: after → 0 again (an outer loop) or END.
    const loopProgram = (min: number | null, max: number | null, outer: boolean): TtfaProgram =>
      compileForBackend(
        workflow(
          [
            zone({ text: "H", advance: "[Answer]", next: 1, jump: 2, loop: { counter: 0, min, max } }),
            zone({ text: "B", advance: "[EOS]", next: 0 }),
            zone({ text: "A", advance: "[EOS]", next: outer ? 0 : -1, maxGen: 0 }),
          ],
          { counters: 1 },
        ),
        byte,
      );
    const kinds = (trace: StreamTrace) => trace.events.map((e) => `${e.kind}@${e.zone}`);

    it("ignores the jump before min iterations, then takes it and resets the counter", () => {
      // The model tries to jump at every head visit, advances when ignored, and ends bodies with [EOS].
      const program = loopProgram(2, null, false);
      const trace = runScripted(program, generating("[Jump][Answer][EOS][Jump][Answer][EOS][Jump]"), 200);
      expect(kinds(trace)).toEqual([
        "ignored_jump@0", "advance@0", "advance@1",
        "ignored_jump@0", "advance@0", "advance@1",
        "jump@0", "timeout@2", "advance@2",
      ]);
    });

    it("forces the exit after max iterations, and a re-entered loop starts counting afresh", () => {
      const program = loopProgram(null, 2, true);
      const interpreter = new ReferenceInterpreter(program);
      const script = generating("[Answer][EOS]".repeat(20));
      const events: string[] = [];
      const counters: number[] = [];
      for (let i = 0; i < 200 && events.filter((e) => e === "forced_exit").length < 2; i++) {
        const r = interpreter.step(script(i, interpreter));
        if (r.event & TtfaEvent.FORCED_EXIT) events.push("forced_exit");
        if (r.event & TtfaEvent.ADVANCE && r.pc === 0) events.push("body");
        if (r.nextPc === 0 && r.pc !== 0) counters.push(interpreter.counters[0]!);
      }
      // Two bodies, then the forced exit; the outer edge re-enters and again two bodies.
      expect(events).toEqual(["body", "body", "forced_exit", "body", "body", "forced_exit"]);
      expect(counters).toEqual([2, 3, 1, 2, 3]);
    });

    it("max 0 exits on the first advance; min = max allows exactly that many", () => {
      expect(kinds(runScripted(loopProgram(null, 0, false), generating("[Answer]"), 100))).toEqual(["forced_exit@0", "timeout@2", "advance@2"]);
      const trace = runScripted(loopProgram(1, 1, false), generating("[Jump][Answer][EOS][Jump]"), 100);
      expect(kinds(trace)).toEqual(["ignored_jump@0", "advance@0", "advance@1", "jump@0", "timeout@2", "advance@2"]);
    });
  });

  describe("tools", () => {
    const toolProgram = () =>
      compileForBackend(
        workflow([
          zone({ text: "ask:", advance: "[EOS]", next: 1, capture: "search" }),
          zone({ text: "got:", advance: "[EOS]", next: -1, feed: "search" }),
        ]),
        byte,
      );

    it("holds a stream until its tool output arrives, then forces it and the advance pattern", () => {
      const program = toolProgram();
      const interpreter = new ReferenceInterpreter(program);
      const script = generating("cats[EOS]");
      let r = interpreter.step(0);
      const steps = [r];
      while (!(r.event & TtfaEvent.CAPTURE)) steps.push((r = interpreter.step(script(0, interpreter))));
      // Feed zone: its prompt, then held.
      for (let i = 0; i < 4; i++) steps.push(interpreter.step(0));
      const before = { ...interpreter, counters: [...interpreter.counters] };
      const held = interpreter.step(65);
      expect(held).toEqual({ token: byte.padId, pc: 1, forced: 0, event: TtfaEvent.HELD, nextPc: 1, done: 0, record: 0 });
      expect({ ...interpreter, counters: [...interpreter.counters] }).toEqual(before);
      interpreter.setToolOutput(enc("42"));
      const rest = [];
      while (!interpreter.done) rest.push(interpreter.step(65));
      expect(byte.decode(rest.map((s) => s.token))).toBe("42[EOS]");
      expect(rest.every((s) => s.forced === 1)).toBe(true);
      expect(rest[0]!.event).toBe(TtfaEvent.TOOL_RESULT);
    });

    it("runScripted delivers captures to a scripted tool; held steps are not recorded", () => {
      const captured: string[] = [];
      const trace = runScripted(toolProgram(), generating("cats[EOS]"), 100, {
        tool: ({ tokens }) => {
          captured.push(byte.decode(tokens));
          return { tokens: enc(`<${captured.length}>`), delay: 5 };
        },
      });
      expect(captured).toEqual(["ask:cats[EOS]"]);
      expect(text(trace)).toBe("ask:cats[EOS]got:<1>[EOS]");
      expect(trace.events.map((e) => e.kind)).toEqual(["advance", "capture", "tool_result", "advance"]);
      expect(trace.status).toBe("done");
    });

    it("a tool that never answers leaves the stream held until maxSteps: truncated", () => {
      const trace = runScripted(toolProgram(), generating("cats[EOS]"), 60, { tool: () => null });
      expect(text(trace)).toBe("ask:cats[EOS]got:");
      expect(trace.status).toBe("truncated");
    });

    it("refuses tool output larger than its buffer", () => {
      const interpreter = new ReferenceInterpreter(toolProgram(), { maxToolTokens: 3 });
      expect(() => interpreter.setToolOutput([1, 2, 3, 4])).toThrow(/4 tokens; the buffer holds 3/);
    });
  });

  it("truncates at maxSteps", () => {
    const program = compileForBackend(workflow([zone({ text: "x", advance: "[EOS]", maxGen: 1000 })]), byte);
    const trace = runScripted(program, () => 97, 25);
    expect(trace.tokens.length).toBe(25);
    expect(trace.status).toBe("truncated");
  });
});
