/**
 * Peak memory of exporting a 100,000-sample run (50,000 streams × 2 extractions).
 *
 *   npx tsx bench/datasets/export-100k.ts
 *
 * Each mode runs in its own child process so its peak RSS (getrusage maxrss) is its own:
 *   run-only    build the synthetic run, export nothing (the floor every mode shares)
 *   streaming   RunExportWriter → samples.arrow, one 8192-row record batch at a time
 *   table       samplesTable(run) in memory, then writeArrowFile (the baseline)
 *   tableToIPC  samplesTable(run), then apache-arrow's tableToIPC + writeFileSync (naive)
 *   exportRun   exportRun: samples + paths × arrow, arrows, jsonl, all streamed
 *   rows-100k   RunExportWriter.appendRows from a generator, no run in memory: 100,000 rows
 *   rows-1m     the same with 1,000,000 rows: bounded memory means about the same peak as rows-100k
 * "export peak" is the peak RSS minus the RSS just before exporting began.
 * Times are compared in one more child ("timing"): streaming and table exports of the same
 * run alternate 5 times in one process and the medians are compared.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tableToIPC } from "apache-arrow";
import { exportRun, RunExportWriter, samplesTable, writeArrowFile, type SampleRow } from "../../datasets/index.js";
import type { PathSegment, Run, StreamTrace } from "../../forge/run/types.js";
import { meta, workflow } from "../../test/datasets/fixtures.js";

const STREAMS = 50_000;
const MODES = ["run-only", "streaming", "table", "tableToIPC", "exportRun", "rows-100k", "rows-1m"] as const;
type Mode = (typeof MODES)[number];

let state = 12345;
const rand = (n: number) => ((state = (state * 1103515245 + 12345) >>> 0) % n);
const words = ["the", "model", "thinks", "über", "naïve", "🤔", "step", "loop", "answer", "因此", "<b>", "&", "\"q\""];
/** Deterministic pseudo-random text of min..max characters, with unicode and markup. */
const sentence = (min: number, max: number) => {
  const out: string[] = [];
  for (let len = 0, target = min + rand(max - min); len < target; ) {
    const w = words[rand(words.length)]!;
    out.push(w);
    len += w.length + 1;
  }
  return out.join(" ");
};

/** Sample rows made on the fly: nothing but the current batch is ever in memory. */
function* generatedRows(count: number): Generator<SampleRow> {
  for (let i = 0; i < count; i++) {
    yield {
      run_id: "bench-rows", stream: i >> 1, extraction: i % 2 ? "answer" : "thoughts", text: sentence(40, 400),
      token_count: rand(200), path_id: `p${(i % 7).toString(16).padStart(12, "0")}`, status: "done",
      seed: 42, workflow_hash: "wf-9f3a", backend: "cpu",
    };
  }
}

/** Deterministic pseudo-random run: loop counts vary per stream, texts 40–400 chars with unicode. */
function syntheticRun(streams: number): Run {
  const traces: StreamTrace[] = [];
  const paths: PathSegment[][] = [];
  const thoughts: string[] = [];
  const answers: string[] = [];
  for (let k = 0; k < streams; k++) {
    const loops = 1 + rand(3);
    const visits: Array<[number, number, boolean]> = [[0, 5, false], [1, 4 + rand(20), false]];
    for (let i = 0; i < loops; i++) visits.push([2, 4, false], [3, 2 + rand(12), i === loops - 1]);
    visits.push([4, 5, false], [5, rand(30), false]);
    const total = visits.reduce((n, v) => n + v[1], 0);
    const pcs = new Int32Array(total);
    const path: PathSegment[] = [];
    let step = 0;
    for (const [zoneId, n, jumped] of visits) {
      pcs.fill(zoneId, step, step + n);
      const z = workflow.zones[zoneId]!;
      path.push({ zoneId, sequence: z.sequence, block: z.block, zone: z.zone, repetition: z.repetition, stepStart: step, stepEnd: step + n, jumped });
      step += n;
    }
    traces.push({ instance: k, tokens: new Int32Array(total).fill(7), pcs, forced: new Uint8Array(total), events: [], status: "done" });
    paths.push(path);
    thoughts.push(sentence(40, 400));
    answers.push(rand(10) === 0 ? "" : sentence(5, 120));
  }
  return {
    meta: meta({ runId: "bench-100k", instances: streams }),
    workflow,
    streams: traces,
    paths,
    extractions: { thoughts, answer: answers },
    statistics: { jumpSites: [], loops: [], generatedTokens: [], forcedTokens: [], length: [], bySequence: {}, status: { done: streams, truncated: 0, timeout: 0, interrupted: 0, tool_error: 0 } },
  };
}

const mib = (bytes: number) => bytes / 2 ** 20;
const peakRss = () => process.resourceUsage().maxRSS * 1024; // maxRSS is in KiB

/** Streaming vs whole-table export of the same run, alternated in this one process. */
async function timing(dir: string): Promise<void> {
  const run = syntheticRun(STREAMS);
  const times = { streaming: [] as number[], table: [] as number[] };
  for (let rep = 0; rep < 5; rep++) {
    let start = performance.now();
    const writer = RunExportWriter.open(join(dir, "t-stream.arrow"), { table: "samples", meta: run.meta, workflow: run.workflow });
    await writer.appendRun(run);
    await writer.close();
    times.streaming.push(performance.now() - start);
    start = performance.now();
    await writeArrowFile(samplesTable(run), join(dir, "t-table.arrow"));
    times.table.push(performance.now() - start);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  process.stdout.write(JSON.stringify({ streaming: median(times.streaming), table: median(times.table) }) + "\n");
}

async function child(mode: Mode, dir: string): Promise<void> {
  const run = mode.startsWith("rows-") ? null : syntheticRun(STREAMS);
  const before = process.memoryUsage().rss;
  const peakBefore = peakRss();
  const file = join(dir, `${mode}.samples.arrow`);
  const start = performance.now();
  if (mode === "rows-100k" || mode === "rows-1m") {
    const writer = RunExportWriter.open(file, { table: "samples" });
    await writer.appendRows(generatedRows(mode === "rows-100k" ? 100_000 : 1_000_000));
    await writer.close();
  } else if (!run) {
    throw new Error("unreachable: run modes have a run");
  } else if (mode === "streaming") {
    const writer = RunExportWriter.open(file, { table: "samples", meta: run.meta, workflow: run.workflow });
    await writer.appendRun(run);
    await writer.close();
  } else if (mode === "table") {
    await writeArrowFile(samplesTable(run), file);
  } else if (mode === "tableToIPC") {
    writeFileSync(file, tableToIPC(samplesTable(run), "file"));
  } else if (mode === "exportRun") {
    await exportRun(run, { dir, name: "exportRun" });
  }
  const ms = performance.now() - start;
  const hash = mode === "run-only" || !run ? null : createHash("sha256").update(readFileSync(file)).digest("hex").slice(0, 16);
  const result = { mode, ms, rssBefore: before, peakBefore, peak: peakRss(), hash };
  process.stdout.write(JSON.stringify(result) + "\n");
}

function parent(): void {
  const dir = mkdtempSync(join(tmpdir(), "forge-bench-export-"));
  const self = fileURLToPath(import.meta.url);
  const results = MODES.map((mode) => {
    const out = spawnSync(process.execPath, ["--import", "tsx", self, "--child", mode, dir], { encoding: "utf8" });
    if (out.status !== 0) throw new Error(`child ${mode} failed:\n${out.stderr}`);
    return JSON.parse(out.stdout.trim().split("\n").pop()!) as { mode: Mode; ms: number; rssBefore: number; peakBefore: number; peak: number; hash: string | null };
  });
  const byMode = Object.fromEntries(results.map((r) => [r.mode, r]));
  console.log(`export of ${STREAMS * 2} samples (${STREAMS} streams × 2 extractions), node ${process.version}`);
  console.log("mode         peak RSS MiB   RSS before export MiB   export peak over it MiB   time ms (own process, noisy)");
  for (const r of results) {
    const over = Math.max(0, r.peak - r.rssBefore);
    console.log(
      `${r.mode.padEnd(12)} ${mib(r.peak).toFixed(1).padStart(12)} ${mib(r.rssBefore).toFixed(1).padStart(23)} ${mib(over).toFixed(1).padStart(25)} ${r.ms.toFixed(0).padStart(9)}`,
    );
  }
  const timed = spawnSync(process.execPath, ["--import", "tsx", self, "--timing", dir], { encoding: "utf8" });
  if (timed.status !== 0) throw new Error(`timing child failed:\n${timed.stderr}`);
  const { streaming, table } = JSON.parse(timed.stdout.trim()) as { streaming: number; table: number };
  console.log(`time, same process, median of 5: streaming ${streaming.toFixed(0)} ms, table ${table.toFixed(0)} ms: ${(streaming / table).toFixed(2)}×`);
  const s = byMode.streaming!;
  const t = byMode.table!;
  const n = byMode.tableToIPC!;
  console.log(`streaming / table: peak over start ${((s.peak - s.rssBefore) / (t.peak - t.rssBefore)).toFixed(2)}×`);
  console.log(`streaming / tableToIPC: peak over start ${((s.peak - s.rssBefore) / (n.peak - n.rssBefore)).toFixed(2)}×`);
  const r1 = byMode["rows-100k"]!;
  const r10 = byMode["rows-1m"]!;
  console.log(`appendRows 1m / 100k rows: peak over start ${((r10.peak - r10.rssBefore) / (r1.peak - r1.rssBefore)).toFixed(2)}× for 10× the rows`);
  console.log(`same bytes written by streaming, table, exportRun: ${s.hash === t.hash && t.hash === byMode.exportRun!.hash}`);
  rmSync(dir, { recursive: true, force: true });
}

const at = process.argv.indexOf("--child");
const timingAt = process.argv.indexOf("--timing");
if (timingAt >= 0) await timing(process.argv[timingAt + 1]!);
else if (at >= 0) await child(process.argv[at + 1] as Mode, process.argv[at + 2]!);
else parent();
