import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseUdpl } from "../../../forge/udpl/index.js";
import { newProgram } from "../../../forge/sfcs/index.js";
import {
  EOS, JUMP, ESCAPE, SEED_CONCLUSION_PROMPT, SEED_CONTROL_PROMPT, SEED_SETUP_ANSWER, SEED_SETUP_PROMPT, TASK_KINDS,
  drawTask, generateCorpus, jumpProbability, makeTask, packCorpus, seedReasoningPrompt, splitOf, transcriptText,
  type Transcript,
} from "../../../scripts/training/index.js";
import { seededRandom } from "../../../forge/resources/index.js";

const corpus = generateCorpus({ seed: 11, bytes: 400_000 });

describe("the seeded corpus", () => {
  it("is the same for the same seed and differs for another", () => {
    const again = generateCorpus({ seed: 11, bytes: 400_000 });
    expect(again.map(transcriptText)).toEqual(corpus.map(transcriptText));
    const other = generateCorpus({ seed: 12, bytes: 50_000 });
    expect(transcriptText(other[0]!)).not.toEqual(transcriptText(corpus[0]!));
  });

  it("uses the seed README's blocks exactly as the UDPL pipeline splits them into zones", () => {
    const udpl = readFileSync(new URL("../../fixtures/udpl/seed-fixed.toml", import.meta.url), "utf8");
    const { sequences, config } = parseUdpl(udpl);
    const program = newProgram(sequences, {}, config);
    program.run("setup");
    program.loop("control", (loop) => loop.run("reasoning", { question: "Are you alive?" }));
    program.run("conclusion");
    const zones = program.compile()().zones.map((z) => z.text);
    // setup: Prompt zone, Answer zone (forced to its [EOS]); control; reasoning; conclusion.
    expect(zones[0]).toBe(SEED_SETUP_PROMPT);
    expect(zones[1]).toBe(SEED_SETUP_ANSWER + EOS);
    expect(zones[2] + zones[3]).toBe(SEED_CONTROL_PROMPT);
    expect(zones[4] + zones[5]).toBe(seedReasoningPrompt("Are you alive?"));
    expect(zones[6] + zones[7]).toBe(SEED_CONCLUSION_PROMPT);
  });

  it("closes every generated segment with [EOS] or, in control zones, [Jump] (alone, or after a restated verdict)", () => {
    let jumps = 0;
    for (const t of corpus) {
      for (const s of t.segments) {
        if (s.role !== "generated") continue;
        const jump = /^\s*(My answer is (right|wrong)\. )?\[Jump\]$/.test(s.text);
        if (jump) jumps++;
        else expect(s.text.endsWith(EOS), JSON.stringify(s.text)).toBe(true);
        // No other unescaped trigger inside what the model writes.
        const body = s.text.replace(/\[Escape\] "\[(Prompt|Answer|EOS|Jump|Escape)\]"/g, "").replace(/\[EOS\]$/, "").replace(/\[Jump\]$/, "");
        expect(body, JSON.stringify(s.text)).not.toMatch(/\[(Prompt|Answer|EOS|Jump|Escape)\]/);
      }
    }
    expect(jumps).toBeGreaterThan(50);
  });

  it("has every document kind and task kind, with correct answers", () => {
    const kinds = new Set(corpus.map((t) => t.kind));
    expect([...kinds].sort()).toEqual(["chain", "checked-loop", "loop", "setup"]);
    const r = seededRandom(3);
    for (const kind of TASK_KINDS) {
      for (let i = 0; i < 20; i++) {
        const t = makeTask(kind, r);
        const numbers = t.prompt.match(/\d+/g)?.map(Number) ?? [];
        if (kind === "add") expect(Number(t.answer)).toBe(numbers[0]! + numbers[1]!);
        if (kind === "sub") expect(Number(t.answer)).toBe(t.prompt.startsWith("Subtract") ? numbers[1]! - numbers[0]! : numbers[0]! - numbers[1]!);
        if (kind === "mul") expect(Number(t.answer)).toBe(numbers[0]! * numbers[1]!);
        if (kind === "sort") expect(t.answer.split(" ").map(Number)).toEqual(numbers.slice().sort((a, b) => a - b));
        if (kind === "max") expect(Number(t.answer)).toBe(Math.max(numbers[0]!, numbers[1]!));
        if (kind === "reverse") expect([...t.answer].reverse().join("")).toBe(t.prompt.match(/: (\w+)$|Write (\w+) backwards/)!.slice(1).find(Boolean));
        if (kind === "escape") expect(t.answer.startsWith(`${ESCAPE} "[`)).toBe(true);
      }
    }
  });

  it("keeps held-out prompts out of training", () => {
    const training = corpus.map(transcriptText).join("\n");
    const r = seededRandom(5);
    for (let i = 0; i < 200; i++) {
      const task = drawTask(r, "heldout");
      expect(splitOf(task)).toBe("heldout");
      for (const close of ["[Answer]", "\n[Answer]", " [Answer]", "\n\n[Answer]"]) expect(training.includes(`${task.prompt}${close}`)).toBe(false);
    }
    // And training draws never land in the held-out split.
    for (let i = 0; i < 200; i++) expect(splitOf(drawTask(r, "train"))).toBe("train");
  });

  it("decides jumps at the rate its cue prescribes", () => {
    // Count control decisions after a checker's verdict, and after the first try without one.
    const after = { right: [0, 0], wrong: [0, 0], tries1: [0, 0] } as Record<string, [number, number]>;
    const count = (t: Transcript) => {
      const segs = t.segments;
      for (let i = 1; i < segs.length; i++) {
        const s = segs[i]!;
        if (s.role !== "generated") continue;
        // A decision after a verdict restates it first ("My answer is right. …").
        const verdict = /^\s*My answer is (right|wrong)\. /.exec(s.text);
        const decision = verdict === null ? s.text : s.text.slice(verdict[0].length);
        const jumped = decision.trim() === JUMP;
        const notYet = /^\s*Not yet, 1 done\.\[EOS\]$/.test(decision);
        if (!jumped && !notYet) continue;
        const before = segs.slice(Math.max(0, i - 4), i).map((x) => x.text).join("");
        const cue = before.includes("answer is right") ? "right" : before.includes("answer is wrong") ? "wrong" : t.kind === "loop" && /Try 1: /.test(before) ? "tries1" : null;
        if (cue === null) continue;
        if (cue !== "tries1") expect(verdict?.[1], s.text).toBe(cue);
        after[cue]![1]++;
        if (jumped) after[cue]![0]++;
      }
    };
    corpus.forEach(count);
    for (const cue of ["right", "wrong", "tries1"] as const) {
      const [jumps, total] = after[cue]!;
      expect(total).toBeGreaterThan(25);
      expect(Math.abs(jumps / total - jumpProbability(cue))).toBeLessThan(0.15);
    }
  });

  it("packs bytes with the weight of the byte each position predicts", () => {
    const t: Transcript = { kind: "chain", segments: [{ text: "[Prompt] a[Answer]", role: "forced" }, { text: " b[EOS]", role: "generated" }] };
    const packed = packCorpus([t, t], { separator: 256, forcedWeight: 0.25 });
    const text = "[Prompt] a[Answer] b[EOS]";
    expect(packed.tokens.length).toBe(2 * (text.length + 1));
    expect(Array.from(packed.tokens.slice(0, text.length))).toEqual([...Buffer.from(text)]);
    expect(packed.tokens[text.length]).toBe(256);
    expect(Array.from(packed.documentStarts)).toEqual([0, text.length + 1]);
    const forcedLength = "[Prompt] a[Answer]".length;
    expect(packed.weights[0]).toBe(0.25); // predicts "P", a forced byte
    expect(packed.weights[forcedLength - 1]).toBe(1); // predicts " ", the first generated byte
    expect(packed.weights[text.length - 1]).toBe(0); // predicts the separator
  });

  it("rejects a bad seed or size with a message naming it", () => {
    expect(() => generateCorpus({ seed: 1.5, bytes: 10 })).toThrow(/corpus seed must be an integer/);
    expect(() => generateCorpus({ seed: 1, bytes: 0 })).toThrow(/corpus bytes must be positive/);
  });
});
