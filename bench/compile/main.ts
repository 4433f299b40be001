/**
 * Frontend compile benchmark (issue 3): a generated UDPL file with 100 sequences × 10
 * blocks → parse + lint → program running every sequence → compile → sample one workflow.
 * Prints the median over 20 runs (goal ≤ 50 ms) and, as the in-process baseline, the
 * median of reading the same file and parsing it with bare smol-toml.
 *
 * A second row (issue #15, item 7) parses a ~10 MB file of the same generator (more blocks
 * per sequence) with parseUdplFile: the median of 3 runs, per MB, against bare smol-toml on
 * the same text, so that a parser slower than linear shows up as a growing ratio.
 *
 *   npx tsx bench/compile/main.ts [--sequences 100] [--blocks 10] [--runs 20] [--big-mb 10] [--big-runs 3]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parse as parseToml } from "smol-toml";
import { listSampler } from "../../forge/resources/index.js";
import { newProgram } from "../../forge/sfcs/index.js";
import { parseUdplFile } from "../../forge/udpl/index.js";

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

export function generateUdpl(sequenceCount: number, blocksPerSequence: number): string {
  const names = Array.from({ length: sequenceCount }, (_, i) => `seq_${i}`);
  const out = [
    "[config]",
    'zone_tokens = ["[Prompt]", "[Answer]", "[EOS]"]',
    'required_tokens = ["[Prompt]"]',
    'valid_tags = ["Training", "Correct", "Feedback", "answer"]',
    `sequences = [${names.map((n) => JSON.stringify(n)).join(", ")}]`,
    'control_token = "[Jump]"',
    'escape_token = "[Escape]"',
    'tokenizer_override = { eos_token = "[EOS]" }',
    "",
  ];
  for (const name of names) {
    for (let b = 0; b < blocksPerSequence; b++) {
      const withPlaceholder = b === 0;
      out.push(
        `[[${name}]]`,
        'text = """',
        `[Prompt] Step ${b} of ${name}: consider the problem carefully, write your reasoning and mention [Escape] "[Answer]" only when escaped.${withPlaceholder ? " Topic: {topic}" : ""}`,
        "Keep the answer short and precise; when satisfied you may emit the jump pattern to leave the loop.",
        '[Answer]"""',
        `tags = [["Training"], ["${b % 2 ? "answer" : "Correct"}"]]`,
      );
      if (b === 3) out.push("repeats = 2");
      if (b === 5) out.push("max_gen_tokens = 64");
      if (withPlaceholder) out.push(`[${name}.topic]`, 'name = "topics"', "arguments = { num_samples = 2 }");
      out.push("");
    }
  }
  return out.join("\n");
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const WARM_UP = 5;

function timeIt(runs: number, fn: () => void): number[] {
  for (let i = 0; i < WARM_UP; i++) fn(); // let the JIT settle before measuring
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return times;
}

/** Blocks per sequence that make `generateUdpl(sequences, ·)` at least `bytes` long. */
export function blocksForSize(sequences: number, bytes: number): number {
  const perBlock = generateUdpl(sequences, 2).length - generateUdpl(sequences, 1).length;
  return Math.max(1, Math.ceil(bytes / perBlock));
}

const sequenceCount = arg("sequences", 100);
const blocks = arg("blocks", 10);
const runs = arg("runs", 20);
const dir = mkdtempSync(join(tmpdir(), "forge-bench-"));
const file = join(dir, "generated.toml");
writeFileSync(file, generateUdpl(sequenceCount, blocks));
const text = readFileSync(file, "utf8");
const topics = listSampler(["algebra", "birds", "chess", "dams", "eels"], { seed: 1 });

let zones = 0;
const stage = { parse: [] as number[], program: [] as number[], compile: [] as number[], sample: [] as number[] };
const total = timeIt(runs, () => {
  const t0 = performance.now();
  const { sequences, config } = parseUdplFile(file);
  const t1 = performance.now();
  const program = newProgram(sequences, { topics }, config);
  for (const name of config.sequences) program.run(name);
  program.extract("answers", ["answer"]);
  const t2 = performance.now();
  const factory = program.compile();
  const t3 = performance.now();
  const workflow = factory();
  const t4 = performance.now();
  zones = workflow.zones.length;
  stage.parse.push(t1 - t0);
  stage.program.push(t2 - t1);
  stage.compile.push(t3 - t2);
  stage.sample.push(t4 - t3);
});
const baseline = timeIt(runs, () => void parseToml(readFileSync(file, "utf8")));
rmSync(dir, { recursive: true, force: true });

const m = median(total);
const b = median(baseline);
const fmt = (x: number): string => x.toFixed(2);
console.log(`compile bench: ${sequenceCount} sequences × ${blocks} blocks, ${(text.length / 1024).toFixed(0)} KiB of UDPL, ${zones} zones, ${runs} runs after ${WARM_UP} warm-up runs`);
console.log(`  parse+lint ${fmt(median(stage.parse))} ms · program ${fmt(median(stage.program))} ms · compile ${fmt(median(stage.compile))} ms · sample ${fmt(median(stage.sample))} ms`);
console.log(`  total median ${fmt(m)} ms (goal ≤ 50 ms: ${m <= 50 ? "met" : "MISSED"})`);
console.log(`  baseline: read + bare smol-toml parse of the same file, median ${fmt(b)} ms → pipeline / baseline = ${(m / b).toFixed(2)}×`);

// ── the 10 MB row ─────────────────────────────────────────────────────────────
const bigMb = arg("big-mb", 10);
const bigRuns = arg("big-runs", 3);
if (bigMb > 0) {
  const bigDir = mkdtempSync(join(tmpdir(), "forge-bench-big-"));
  const bigFile = join(bigDir, "big.toml");
  const bigText = generateUdpl(sequenceCount, blocksForSize(sequenceCount, bigMb * 1e6));
  writeFileSync(bigFile, bigText);
  let bigZones = 0;
  const bigParse: number[] = [];
  const bigToml: number[] = [];
  for (let i = 0; i < bigRuns; i++) {
    let t0 = performance.now();
    const { sequences } = parseUdplFile(bigFile);
    bigParse.push(performance.now() - t0);
    bigZones = Object.values(sequences).reduce((n, q) => n + q.zones.length, 0);
    t0 = performance.now();
    parseToml(readFileSync(bigFile, "utf8"));
    bigToml.push(performance.now() - t0);
  }
  rmSync(bigDir, { recursive: true, force: true });
  const mb = bigText.length / 1e6;
  const p = median(bigParse);
  const t = median(bigToml);
  console.log(`big file: ${mb.toFixed(1)} MB of UDPL (${sequenceCount} sequences, ${bigZones} zones), median of ${bigRuns} runs`);
  console.log(`  parseUdplFile ${fmt(p)} ms (${fmt(p / mb)} ms/MB) · bare smol-toml ${fmt(t)} ms (${fmt(t / mb)} ms/MB) → ${(p / t).toFixed(2)}×`);
}
