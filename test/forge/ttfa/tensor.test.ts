/**
 * TensorAutomaton: the batch step on tfjs tensors. Equivalence with the reference on the
 * three real tokenizers and on the cpu backend, slot management (stop, resetSlot, tool
 * output while others run), and that step() never reads tensors back to the host.
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ForgeTokenizer } from "../../../forge/tokenizer/types.js";
import { compileForBackend, runScripted, TensorAutomaton, TtfaError, TtfaEvent, type TtfaProgram } from "../../../forge/ttfa/index.js";
import type { StreamTrace } from "../../../forge/run/types.js";
import { loadTestTokenizers, type TestTokenizers } from "../../helpers/tokenizers.js";
import { PAIR_ESCAPE, randomScript, randomWorkflow, SINGLE_ESCAPE, workflow, zone } from "./fixtures.js";
import { runBatch, scriptedTool } from "./harness.js";

const same = (t: StreamTrace) => ({ tokens: Array.from(t.tokens), pcs: Array.from(t.pcs), forced: Array.from(t.forced), events: t.events, status: t.status });

/** A program with every mechanism: loop with min/max, a when-branch, capture/feed, escapes. */
function fullProgram(t: ForgeTokenizer, escape: typeof SINGLE_ESCAPE | null): TtfaProgram {
  return compileForBackend(
    workflow(
      [
        zone({ text: "[Prompt] loop head [Answer]", advance: "[EOS]", next: 1, jump: 3, loop: { counter: 0, min: 1, max: 3 }, maxGen: 6 }),
        zone({ text: " body", advance: "[EOS]", next: 2, capture: "search", maxGen: 5 }),
        zone({ text: " results:", advance: "[EOS]", next: 0, feed: "search", maxGen: 3 }),
        zone({ text: "[Prompt] decide", advance: "[Answer]", next: 4, jump: -1, maxGen: 4 }),
        zone({ text: "[Answer]", advance: "[EOS]", next: -1, maxGen: 5 }),
      ],
      { escape, counters: 1 },
    ),
    t,
  );
}

describe("TensorAutomaton", () => {
  let tokenizers: TestTokenizers;
  beforeAll(async () => {
    await tf.setBackend("wasm");
    tokenizers = await loadTestTokenizers();
  });
  afterAll(async () => {
    await tf.setBackend("wasm");
  });

  it("matches the reference on all three tokenizers (batch of 16 scripted streams each)", () => {
    for (const [name, t] of Object.entries(tokenizers) as Array<[string, ForgeTokenizer]>) {
      for (const escape of [SINGLE_ESCAPE, PAIR_ESCAPE]) {
        const program = fullProgram(t, escape);
        const patterns = program.trigger.patterns;
        const scripts = Array.from({ length: 16 }, (_, b) => randomScript(1000 + b, 120, t, patterns));
        const tool = scriptedTool(patterns.map((p) => t.encode(p)));
        const automaton = new TensorAutomaton(program, 16);
        const batch = runBatch(automaton, scripts, 120, tool);
        automaton.dispose();
        const kinds = new Set<string>();
        scripts.forEach((script, b) => {
          const reference = runScripted(program, (i) => script[i] ?? 0, 120, { instance: b, tool });
          reference.events.forEach((e) => kinds.add(e.kind));
          expect(same(batch[b]!), `${name} ${escape.kind} stream ${b}`).toEqual(same(reference));
        });
        expect(kinds.size, `${name}: ${[...kinds]}`).toBeGreaterThanOrEqual(5);
      }
    }
  });

  it("matches the reference on the cpu backend too", async () => {
    await tf.setBackend("cpu");
    try {
      const t = tokenizers.byte;
      for (let seed = 9000; seed < 9030; seed++) {
        const program = compileForBackend(randomWorkflow(seed), t);
        const scripts = Array.from({ length: 4 }, (_, b) => randomScript(seed * 7 + b, 60, t, program.trigger.patterns));
        const tool = scriptedTool(program.trigger.patterns.map((p) => t.encode(p)));
        const automaton = new TensorAutomaton(program, 4);
        const batch = runBatch(automaton, scripts, 60, tool);
        automaton.dispose();
        scripts.forEach((script, b) =>
          expect(same(batch[b]!), `seed ${seed} stream ${b}`).toEqual(same(runScripted(program, (i) => script[i] ?? 0, 60, { instance: b, tool }))),
        );
      }
    } finally {
      await tf.setBackend("wasm");
    }
  });

  it("step() launches kernels only: no read-back, and no tensors leak", () => {
    const program = fullProgram(tokenizers.gpt2, PAIR_ESCAPE);
    const automaton = new TensorAutomaton(program, 8);
    const warm = tf.fill([8], 50, "int32") as tf.Tensor1D;
    Object.values(automaton.step(warm)).forEach((x) => x.dispose()); // creates the cached int32 constants
    warm.dispose();
    const proto = tf.Tensor.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
    const reads = ["dataSync", "arraySync", "data", "array", "bufferSync"];
    const originals = reads.map((k) => proto[k]!);
    let count = 0;
    reads.forEach((k, i) => (proto[k] = function (this: unknown, ...a: unknown[]) { count++; return originals[i]!.apply(this, a); }));
    const before = tf.memory().numTensors;
    try {
      for (let i = 0; i < 20; i++) {
        const input = tf.fill([8], 50, "int32") as tf.Tensor1D;
        const out = automaton.step(input);
        input.dispose();
        Object.values(out).forEach((x) => x.dispose());
      }
    } finally {
      reads.forEach((k, i) => (proto[k] = originals[i]!));
    }
    expect(count).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    automaton.dispose();
  });

  it("stop() ends one slot with padding while the others go on; resetSlot() starts a fresh instance there", () => {
    const t = tokenizers.byte;
    const program = compileForBackend(workflow([zone({ text: "ab", advance: "[EOS]", maxGen: 1000 })]), t);
    const automaton = new TensorAutomaton(program, 3);
    const step = () => {
      const input = tf.tensor1d([120, 121, 122], "int32");
      const out = automaton.step(input);
      const host = { token: Array.from(out.token.dataSync()), done: Array.from(out.done.dataSync()), event: Array.from(out.event.dataSync()), record: Array.from(out.record.dataSync()) };
      input.dispose();
      Object.values(out).forEach((x) => x.dispose());
      return host;
    };
    expect(step().token).toEqual([97, 97, 97]);
    automaton.stop(1);
    const s = step();
    expect(s.token).toEqual([98, t.padId, 98]);
    expect(s.done).toEqual([0, 1, 0]);
    expect(s.record).toEqual([1, 0, 1]);
    expect(s.event[1]).toBe(TtfaEvent.PAD);
    expect(step().token).toEqual([120, t.padId, 122]);
    automaton.resetSlot(1);
    expect(automaton.readSlot(1)).toMatchObject({ pc: 0, done: 0, gen: 0 });
    expect(step().token).toEqual([120, 97, 122]);
    expect(step().token).toEqual([120, 98, 122]);
    expect(() => automaton.stop(3)).toThrow(TtfaError);
    expect(() => automaton.setToolOutput(0, new Array(5000).fill(1))).toThrow(/5000 tokens; the buffer holds 1024/);
    automaton.dispose();
    expect(() => automaton.step(tf.tensor1d([1, 2, 3], "int32"))).toThrow(/disposed/);
  });

  it("a slot waiting for its tool holds (padding, not recorded) while the others generate", () => {
    const t = tokenizers.byte;
    const program = compileForBackend(workflow([zone({ text: "", advance: "[EOS]", next: 1 }), zone({ text: ">", advance: "[EOS]", feed: "search" })]), t);
    const automaton = new TensorAutomaton(program, 2);
    const eos = t.encode("[EOS]");
    const run = (sampled: number[]) => {
      const input = tf.tensor1d(sampled, "int32");
      const out = automaton.step(input);
      const host = { token: Array.from(out.token.dataSync()), held: Array.from(out.held.dataSync()), event: Array.from(out.event.dataSync()) };
      input.dispose();
      Object.values(out).forEach((x) => x.dispose());
      return host;
    };
    for (const c of eos) run([c, 97]); // slot 0 leaves zone 0; slot 1 keeps generating
    expect(run([0, 97]).token).toEqual([62, 97]); // slot 0 fed ">"
    const held = run([0, 97]);
    expect(held.token).toEqual([t.padId, 97]);
    expect(held.held).toEqual([1, 0]);
    expect(held.event).toEqual([TtfaEvent.HELD, 0]);
    automaton.setToolOutput(0, t.encode("ok"));
    const first = run([0, 97]);
    expect(first.token).toEqual([111, 97]);
    expect(first.event[0]).toBe(TtfaEvent.TOOL_RESULT);
    expect([run([0, 97]).token[0], ...eos.map(() => run([0, 97]).token[0])]).toEqual([107, ...eos]);
    automaton.dispose();
  });
});

describe("TensorAutomaton with continuous batching", () => {
  beforeAll(async () => {
    await tf.setBackend("wasm");
  });

  it("a slot refilled by resetSlot runs the next instance exactly as a fresh stream would", async () => {
    const { ByteTokenizer } = await import("../../../forge/tokenizer/byte.js");
    const { TraceRecorder } = await import("../../../forge/ttfa/index.js");
    const t = new ByteTokenizer();
    // A program with a loop, so that a refilled slot must also start with fresh loop counters.
    let seed = 4242;
    while (!randomWorkflow(seed).zones.some((zn) => zn.loop && zn.loop.max !== null)) seed++;
    const program = compileForBackend(randomWorkflow(seed), t);
    const instances = 7;
    const scripts = Array.from({ length: instances }, (_, i) => randomScript(77 + i, 80, t, program.trigger.patterns));
    const B = 3;
    const automaton = new TensorAutomaton(program, B);
    const recorder = new TraceRecorder(program.zoneCount, B);
    const slotInstance = [0, 1, 2];
    const slotSteps = [0, 0, 0];
    let nextInstance = B;
    const finished: StreamTrace[] = [];
    for (let step = 0; step < 2000 && finished.length < instances; step++) {
      const sampled = tf.tensor1d(slotInstance.map((inst, s) => (inst < 0 ? 0 : scripts[inst]![recorder.slot(s).length] ?? 0)), "int32");
      const out = automaton.step(sampled);
      const host = {
        token: out.token.dataSync(), pc: out.pc.dataSync(), forced: out.forced.dataSync(), event: out.event.dataSync(),
        nextPc: out.nextPc.dataSync(), done: out.done.dataSync(), record: out.record.dataSync(),
      };
      sampled.dispose();
      Object.values(out).forEach((x) => x.dispose());
      recorder.append(host);
      for (let s = 0; s < B; s++) {
        if (slotInstance[s]! < 0) continue;
        slotSteps[s]!++;
        const truncated = slotSteps[s]! >= 80;
        if (!host.done[s] && !truncated) continue;
        if (truncated && !host.done[s]) automaton.stop(s);
        finished.push(recorder.take(s, slotInstance[s]!));
        slotSteps[s] = 0;
        if (nextInstance < instances) {
          automaton.resetSlot(s);
          slotInstance[s] = nextInstance++;
        } else slotInstance[s] = -1;
      }
    }
    automaton.dispose();
    expect(finished.length).toBe(instances);
    for (const trace of finished) {
      const reference = runScripted(program, (i) => scripts[trace.instance]![i] ?? 0, 80, { instance: trace.instance });
      expect(same(trace), `instance ${trace.instance}`).toEqual(same(reference));
    }
  });
});

describe("TensorAutomaton at batch 1", () => {
  it("updates its one slot (tool output, stop, reset) — tf.oneHot would need depth ≥ 2", async () => {
    await tf.setBackend("wasm");
    const t = (await loadTestTokenizers()).byte;
    const automaton = new TensorAutomaton(fullProgram(t, null), 1);
    const out = automaton.step(tf.tensor1d([0], "int32"));
    Object.values(out).forEach((tensor) => tensor.dispose());
    expect(() => automaton.setToolOutput(0, t.encode("ok"))).not.toThrow();
    expect(() => automaton.stop(0)).not.toThrow();
    expect(() => automaton.resetSlot(0)).not.toThrow();
    automaton.dispose();
  });
});
