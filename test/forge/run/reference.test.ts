/**
 * deriveRun on traces produced by the real reference interpreter (forge/ttfa): the fixture
 * workflow is compiled for the byte tokenizer and run with scripted answers. The traces
 * must equal the hand-written ones of the fixture (so the derive tests read the same
 * trace semantics the engine produces), and the derived figures are checked by hand.
 */
import { describe, expect, it } from "vitest";
import { deriveRun, pathSignature, type StreamTrace } from "../../../forge/run/index.js";
import { ByteTokenizer } from "../../../forge/tokenizer/byte.js";
import { compileForBackend, runScripted, type InterpreterState } from "../../../forge/ttfa/index.js";
import { LOOP_SITE, loopWhenWorkflow as workflow, metaFor, traceOf, walk, WHEN_SITE, type Visit } from "../../fixtures/runs/workflow.js";

const tokenizer = new ByteTokenizer();
const program = compileForBackend(workflow, tokenizer);

/**
 * Run the interpreter on one stream whose generated text, zone visit by zone visit, is
 * the `generated` text of the given visits. The sampled token is ignored while the
 * interpreter forces (feeds a prompt), so the script only advances when it generates.
 */
function interpret(instance: number, visits: Visit[], maxSteps = 10_000): StreamTrace {
  const answers = visits.filter((v) => v.generated).map((v) => ({ zone: v.zone, bytes: tokenizer.encode(v.generated!) }));
  let queue: number[] = [];
  let lastPc = -1;
  const next = (_step: number, state: InterpreterState): number => {
    if (state.pc !== lastPc) {
      lastPc = state.pc;
      queue = answers[0]?.zone === state.pc ? answers.shift()!.bytes : [];
    }
    if (state.feedPtr < state.feedEnd) return 0; // replaced by the forced token
    const token = queue.shift();
    if (token === undefined) throw new Error(`script ran out of text in zone ${state.pc}`);
    return token;
  };
  return runScripted(program, next, maxSteps, { instance });
}

describe("deriveRun on reference-interpreter traces", () => {
  const walks: [number, "yes" | "no"][] = [
    [0, "yes"],
    [1, "yes"],
    [2, "no"],
    [3, "no"], // forced exit at the loop's max
  ];
  const traces = walks.map(([iterations, branch], i) => interpret(i, walk(iterations, branch)));

  it("produces the same traces as the fixture's hand-written ones", () => {
    walks.forEach(([iterations, branch], i) => {
      expect(traces[i]).toEqual(traceOf(workflow, tokenizer, i, walk(iterations, branch), "done"));
    });
  });

  it("derives paths, loop iterations and jump statistics", () => {
    const run = deriveRun({ meta: metaFor(workflow, 4), workflow, streams: traces }, tokenizer);
    expect(run.statistics.loops[0]!.iterations).toEqual([0, 1, 2, 3]);
    const [loop, when] = run.statistics.jumpSites;
    // Loop head visits: iterations + 1 per stream.
    expect(loop).toMatchObject({ zoneId: LOOP_SITE, visits: 1 + 2 + 3 + 4, taken: 3, forced: 1, streamsTaking: 3 });
    expect(when).toMatchObject({ zoneId: WHEN_SITE, visits: 4, taken: 2, forced: 0, streamsTaking: 2 });
    expect(pathSignature(run.paths[0]!)).toBe("setup > control > decide > yes > conclusion");
    expect(run.extractions["training_data"]).toEqual(["", "Step 0.", "Step 0.\nStep 1.", "Step 0.\nStep 1.\nStep 2."]);
    expect(run.extractions["verdicts"]![2]).toBe("Step 0.\nStep 1.\nUnsure.\nDone.");
    expect(run.statistics.status.done).toBe(4);
  });

  it("derives a truncated stream cut off by the step limit", () => {
    const cut = interpret(0, walk(2, "yes"), 100);
    expect(cut.status).toBe("truncated");
    expect(cut.tokens.length).toBe(100);
    const run = deriveRun({ meta: metaFor(workflow, 1), workflow, streams: [cut] }, tokenizer);
    const path = run.paths[0]!;
    expect(path[path.length - 1]!.stepEnd).toBe(100);
    expect(run.statistics.generatedTokens[0]! + run.statistics.forcedTokens[0]!).toBe(100);
    expect(run.statistics.status.truncated).toBe(1);
  });
});
