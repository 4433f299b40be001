/**
 * Why the sampler's phase of the ONNX engine's loop costs more than the sampler alone
 * (issue 21): the profiled wave (profiled-wave.ts) on the ONNX step model at batch BATCH,
 * temperature 1, the engine's sampler; per run, three waves on the same model (same traces):
 *
 *   npx tsx bench/ttfa/onnx-sample-phase.ts     # RUNS=4 STEPS=100 BATCH=64 THREADS=<ORT default> THREAD_STAT=0
 *
 * 1. Plain: profiled-wave.ts's "sample" phase as sampler.ts reports it (CPU and wall ms per step).
 * 2. Two parts: the same with sampleOnBackend and logits.dispose() timed inside the phase; the
 *    phase per step (median, p10, p90, the longest), and for the long ones (over 2 ms of CPU)
 *    where the time went (before the sampler's call / sampler / dispose / after) and the
 *    garbage collections near them (perf_hooks "gc" entries: kind 1 scavenge, 4 incremental
 *    marking, 8 weak callbacks); THREAD_STAT=1 adds each thread's run time over the phase
 *    (/proc/self/task/<tid>/schedstat; reading it costs ≈ 1 ms a time, so only for that).
 * 3. Parts: the whole step split, each part by wall and CPU time (process.cpuUsage: all
 *    threads), minor page faults (process.resourceUsage), gcs started in it:
 *   ort      — ONNX Runtime's session.run (the step's model work), and the ArrayBuffer bytes
 *              it allocates (process.memoryUsage().arrayBuffers before and after)
 *   copy     — the rest of decode: the cache append and tf.tensor2d (logits into the tfjs heap)
 *   view     — the logits' view in the heap and the heap handle (dispatch.ts's hostView, wasmHeap)
 *   sample   — sampleTokensHost on the rows where they lie, right after the step
 *   again    — sampleTokensHost a second time on the same rows (warm; its tokens are not used)
 *   tokens   — tf.tensor1d of the tokens (into the heap)
 *   dispose  — logits.dispose()
 *   counters — nothing: what one reading of the counters adds to each part
 * Then the sampler alone on copies of ten of the loop's batches (every 10th step), each in a
 * tensor made once: sampleTokensHost in place, and sampleOnBackend with its tokens disposed.
 * The last line: the phase in the loop against alone, and the parts' CPU ms per step.
 */
import os from "node:os";
import fs from "node:fs";
import { PerformanceObserver, performance } from "node:perf_hooks";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../forge/backend/index.js";
import { OnnxStepModel } from "../../forge/backend/onnx/model.js";
import type { StepModel } from "../../forge/model/step-model.js";
import { sampleOnBackend, sampleTokensHost } from "../../forge/sampler/index.js";
import { wasmHeap } from "../../forge/sampler/dispatch.js";
import { benchModel, benchWorkflow } from "./setup.js";
import { loadGpt2Tokenizer8k } from "./gpt2-8k.js";
import { profiledWave } from "./profiled-wave.js";

const RUNS = Number(process.env.RUNS ?? 4);
const STEPS = Number(process.env.STEPS ?? 100);
const BATCH = Number(process.env.BATCH ?? 64);
const THREADS = process.env.THREADS ? Number(process.env.THREADS) : undefined;
/** THREAD_STAT=1: also each thread's run time per part (reading /proc costs ≈ 0.1–0.3 ms a time, which then inflates the CPU column). */
const THREAD_STAT = process.env.THREAD_STAT === "1";
const PARTS = ["ort", "copy", "view", "sample", "again", "tokens", "dispose", "counters", "engine sampler", "engine dispose"] as const;
type Part = (typeof PARTS)[number];
const load = () => os.loadavg().map((x) => x.toFixed(1)).join(" / ");
const fmt = (x: number, digits = 3) => x.toFixed(digits);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const tasksDir = "/proc/self/task";
const mainTid = String(process.pid);
/** ns of run time of the main thread and of all others together (schedstat's first field). */
function threadNs(): { main: number; others: number } {
  let main = 0;
  let others = 0;
  for (const tid of fs.readdirSync(tasksDir)) {
    let ns = 0;
    try {
      ns = Number(fs.readFileSync(`${tasksDir}/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      continue; // the thread ended
    }
    if (tid === mainTid) main = ns;
    else others += ns;
  }
  return { main, others };
}
const cpuNow = () => {
  const used = process.cpuUsage();
  return (used.user + used.system) / 1000;
};

interface Counters { wall: number; cpu: number; main: number; others: number; faults: number; gcs: number; gcMs: number }
const zero = (): Counters => ({ wall: 0, cpu: 0, main: 0, others: 0, faults: 0, gcs: 0, gcMs: 0 });
let totals: Record<Part, Counters> = Object.fromEntries(PARTS.map((p) => [p, zero()])) as Record<Part, Counters>;
const windows: { part: Part; start: number; end: number }[] = [];
let mark = { wall: 0, cpu: 0, main: 0, others: 0, faults: 0 };
const snap = () => {
  const t = THREAD_STAT ? threadNs() : { main: NaN, others: NaN };
  return { wall: performance.now(), cpu: cpuNow(), main: t.main / 1e6, others: t.others / 1e6, faults: process.resourceUsage().minorPageFault };
};
const begin = () => {
  mark = snap();
};
/** Closes `part` (opened by begin() or the previous end()); the counters' own reading cost falls between parts. */
const end = (part: Part) => {
  const now = snap();
  const c = totals[part];
  c.wall += now.wall - mark.wall;
  c.cpu += now.cpu - mark.cpu;
  c.main += now.main - mark.main;
  c.others += now.others - mark.others;
  c.faults += now.faults - mark.faults;
  windows.push({ part, start: mark.wall, end: now.wall });
  mark = snap();
};

const gcs: { start: number; duration: number; kind: number }[] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push({ start: e.startTime, duration: e.duration, kind: (e as unknown as { detail?: { kind: number } }).detail?.kind ?? 0 });
}).observe({ entryTypes: ["gc"] });

await initBackend("wasm");
const model = benchModel();
const tokenizer = await loadGpt2Tokenizer8k();
const workflow = benchWorkflow(16);
const onnx = await OnnxStepModel.fromDecoder(model, THREADS ? { threads: THREADS } : {});
console.log(`ONNX sample phase — batch ${BATCH}, ${STEPS} steps, ${RUNS} runs, ORT threads ${onnx.threads}, ${os.cpus().length} cores, ${new Date().toISOString().slice(0, 16)} UTC, load at start ${load()}.`);

// session.run timed inside decode: the private run() wrapped at run time.
const inner = onnx as unknown as { session: { run: (...a: unknown[]) => unknown } };
const session = inner.session;
const realRun = session.run.bind(session);
let instrument = false;
/** ArrayBuffer bytes allocated inside each session.run (instrumented runs; a GC inside one lowers its figure: the median is printed). */
const runBytes: number[] = [];
// The native session's methods are read-only: the model gets a wrapper in its place.
Object.defineProperty(onnx, "session", {
  value: {
    run: (...args: unknown[]) => {
      if (!instrument) return realRun(...args);
      const bytes = process.memoryUsage().arrayBuffers;
      begin();
      const out = realRun(...args);
      end("ort");
      runBytes.push(process.memoryUsage().arrayBuffers - bytes);
      return out;
    },
    dispose: () => (session as unknown as { dispose: () => void }).dispose(),
  },
});
const stepModel: StepModel = new Proxy(onnx as unknown as StepModel, {
  get(target, key, receiver) {
    const value = Reflect.get(target, key, receiver) as unknown;
    if (key !== "decode" || !instrument) return typeof value === "function" ? (value as Function).bind(target) : value;
    return (...args: unknown[]) => {
      const out = (value as Function).apply(target, args) as tf.Tensor2D;
      end("copy");
      return out;
    };
  },
});

const tokenBuffer = new Int32Array(BATCH);
/** Copies of some steps' logits (every 10th), to time the sampler alone on the loop's own rows. */
const kept: Float32Array[] = [];
let keep = false;
let stepIndex = 0;
/** The logits' byte addresses in the heap the loop met (alignment, reuse). */
const offsets = new Set<number>();
// sampleOnBackend's wasm path, part by part (dispatch.ts), plus a second, warm call.
const parts: typeof sampleOnBackend = (logits, options, seed, instances, steps) => {
  begin();
  const backend = tf.backend() as unknown as { typedArrayFromHeap: (t: tf.Tensor) => Float32Array };
  const view = backend.typedArrayFromHeap(logits);
  const heap = wasmHeap();
  end("view");
  const tokens = sampleTokensHost(view, logits.shape[1], options, seed, instances, steps, tokenBuffer, heap);
  end("sample");
  const again = new Int32Array(BATCH); // outside the timed part
  begin();
  sampleTokensHost(view, logits.shape[1], options, seed, instances, steps, again, heap);
  end("again");
  if (keep && stepIndex++ % 10 === 0) kept.push(Float32Array.from(view));
  offsets.add(view.byteOffset);
  begin();
  const out = tf.tensor1d(tokens, "int32");
  end("tokens");
  // logits.dispose() follows in profiled-wave.ts; wrap it.
  const dispose = logits.dispose.bind(logits);
  logits.dispose = () => {
    begin();
    dispose();
    end("dispose");
    begin();
    end("counters"); // what reading the counters itself costs, in every part above
  };
  return out;
};

// The engine's sampler itself (sampleOnBackend) and the logits' dispose, two parts only.
/** Each thread's run time (ns, schedstat) by name: comm + tid. */
function perThread(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of fs.readdirSync(tasksDir)) {
    try {
      const name = fs.readFileSync(`${tasksDir}/${tid}/comm`, "utf8").trim();
      out.set(`${name}#${tid}`, Number(fs.readFileSync(`${tasksDir}/${tid}/schedstat`, "utf8").split(" ")[0]));
    } catch {
      // the thread ended
    }
  }
  return out;
}
const threadDeltas = new Map<string, number>();
const calls: { enter: number; sampled: number; disposed: number; threads?: Map<string, number> }[] = [];
const engineParts: typeof sampleOnBackend = (logits, options, seed, instances, steps) => {
  const call: { enter: number; sampled: number; disposed: number; threads?: Map<string, number> } = { enter: performance.now(), sampled: 0, disposed: 0, threads: THREAD_STAT ? perThread() : undefined };
  calls.push(call);
  begin();
  const out = sampleOnBackend(logits, options, seed, instances, steps);
  end("engine sampler");
  call.sampled = performance.now();
  const dispose = logits.dispose.bind(logits);
  logits.dispose = () => {
    begin();
    dispose();
    end("engine dispose");
    call.disposed = performance.now();
    if (call.threads) {
      const after = perThread();
      for (const [name, ns] of after) {
        const key = name.replace(/#\d+$/, "") + (name.endsWith(`#${process.pid}`) ? " (main)" : "");
        threadDeltas.set(key, (threadDeltas.get(key) ?? 0) + (ns - (call.threads.get(name) ?? ns)) / 1e6);
      }
    }
  };
  return out;
};

const results: Record<Part, Counters>[] = [];
const plain: { cpu: number; wall: number; stepCpu: number }[] = [];
for (let run = 0; run <= RUNS; run++) {
  // The engine's sampler as profiled-wave.ts times it (the "sample" phase), nothing else timed.
  const wave0 = await profiledWave(stepModel, tokenizer, workflow, { batchSize: BATCH, seed: 1, maxTokens: STEPS, form: "host", sampling: {} });
  if (run > 0) plain.push({ cpu: wave0.phaseCpuMs.sample / (wave0.steps - 1), wall: wave0.phaseMs.sample / (wave0.steps - 1), stepCpu: wave0.cpuMs / wave0.steps });
  totals = Object.fromEntries(PARTS.map((p) => [p, zero()])) as Record<Part, Counters>;
  windows.length = 0;
  gcs.length = 0;
  const wave1 = await profiledWave(stepModel, tokenizer, workflow, { batchSize: BATCH, seed: 1, maxTokens: STEPS, form: "host", sampling: {}, sampler: engineParts });
  const sorted = wave1.sampleSteps.map((x) => x.cpuMs).sort((a, b) => a - b);
  const q = (f: number) => sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))]!;
  console.log(`  its phase per step, CPU ms: median ${fmt(q(0.5))}, p10 ${fmt(q(0.1))}, p90 ${fmt(q(0.9))}, top 3 ${sorted.slice(-3).map((x) => fmt(x, 2)).join(", ")}; steps over 2 ms at ${wave1.sampleSteps.flatMap((x, i) => (x.cpuMs > 2 ? [i + 1] : [])).join(", ")}`);
  const long = wave1.sampleSteps.flatMap((x, i) => (x.cpuMs > 2 ? [i] : []));
  console.log(`  long steps, wall ms: before the sampler's call / sampler / dispose / after: ` + long.map((i) => {
    const x = wave1.sampleSteps[i]!;
    const c = calls[calls.length - wave1.sampleSteps.length + i]!;
    return [c.enter - x.at, c.sampled - c.enter, c.disposed - c.sampled, x.at + x.ms - c.disposed].map((v) => fmt(v, 2)).join(" / ");
  }).join("; "));
  if (THREAD_STAT) {
    console.log(`  threads' run time from the sampler's entry to the dispose's end, ms per step: ${[...threadDeltas].filter(([, ms]) => ms > 0).map(([k, ms]) => `${k} ${fmt(ms / wave1.sampleSteps.length)}`).join(", ")}`);
    threadDeltas.clear();
  }
  await new Promise((r) => setTimeout(r, 50));
  for (const i of long.slice(0, 6)) {
    const x = wave1.sampleSteps[i]!;
    const near = gcs.filter((g) => g.start + g.duration > x.at - 5 && g.start < x.at + x.ms + 5);
    console.log(`    step ${i + 1}: phase ${fmt(x.at, 2)}..${fmt(x.at + x.ms, 2)} (${fmt(x.cpuMs, 2)} CPU); gcs near: ${near.map((g) => `kind ${g.kind} ${fmt(g.start, 2)}..${fmt(g.start + g.duration, 2)}`).join(", ") || "none"}`);
  }
  const byKind = new Map<number, number[]>();
  for (const g of gcs) byKind.set(g.kind, [...(byKind.get(g.kind) ?? []), g.duration]);
  console.log(`  gcs by kind: ${[...byKind].map(([k, d]) => `kind ${k}: ${d.length}, ${fmt(d.reduce((a, b) => a + b, 0), 1)} ms`).join("; ")}`);
  const inPhase = gcs.filter((g) => wave1.sampleSteps.some((x) => g.start >= x.at && g.start < x.at + x.ms));
  console.log(`  gcs during the run: ${gcs.length} (${fmt(gcs.reduce((a, g) => a + g.duration, 0), 1)} ms); started in its sample phase: ${inPhase.map((g) => `kind ${g.kind} ${fmt(g.duration, 2)} ms`).join(", ") || "none"}`);
  console.log(`  engine sampler with two parts timed: phase ${fmt(wave1.phaseCpuMs.sample / (wave1.steps - 1))} ms CPU (${fmt(wave1.phaseMs.sample / (wave1.steps - 1))} wall); parts ${fmt((totals["engine sampler"].cpu + totals["engine dispose"].cpu) / (wave1.steps - 1))} ms CPU (${fmt((totals["engine sampler"].wall + totals["engine dispose"].wall) / (wave1.steps - 1))} wall)`);
  instrument = true;
  keep = run === 0;
  const wave = await profiledWave(stepModel, tokenizer, workflow, { batchSize: BATCH, seed: 1, maxTokens: STEPS, form: "host", sampling: {}, sampler: parts });
  instrument = false;
  keep = false;
  if (wave.traces.some((t, s) => t.tokens.join() !== wave0.traces[s]!.tokens.join())) throw new Error("the instrumented run recorded other traces than the engine's sampler");
  await new Promise((r) => setTimeout(r, 50)); // the gc observer's entries arrive asynchronously
  for (const g of gcs) {
    const w = windows.find((w) => g.start >= w.start && g.start < w.end);
    if (w) {
      totals[w.part].gcs++;
      totals[w.part].gcMs += g.duration;
    }
  }
  const steps = wave.steps - 1;
  for (const p of PARTS) for (const k of Object.keys(totals[p]) as (keyof Counters)[]) totals[p][k] /= steps;
  if (run > 0) results.push(totals); // run 0 warms up
  console.log(
    `run ${run}: engine's sampler: sample phase ${fmt(wave0.phaseCpuMs.sample / (wave0.steps - 1))} ms CPU (${fmt(wave0.phaseMs.sample / (wave0.steps - 1))} wall), step ${fmt(wave0.cpuMs / wave0.steps, 2)} ms CPU; ` +
      `instrumented: step ${fmt(wave.cpuMs / wave.steps, 2)} ms CPU; load ${load()}`,
  );
}

console.log("");
console.log(`Per sampled step, median of ${RUNS} instrumented runs (ms; faults and gcs per step; each part includes one reading of the counters, see "counters"):`);
console.log("");
console.log("| part | wall | CPU (all threads) | main thread | other threads | minor faults | gcs started | gc ms |");
console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
const med = (p: Part, k: keyof Counters) => median(results.map((r) => r[p][k]));
for (const p of PARTS) console.log(`| ${p} | ${fmt(med(p, "wall"))} | ${fmt(med(p, "cpu"))} | ${fmt(med(p, "main"))} | ${fmt(med(p, "others"))} | ${fmt(med(p, "faults"), 1)} | ${fmt(med(p, "gcs"), 2)} | ${fmt(med(p, "gcMs"))} |`);

// Alone: on the loop's own logits (every 10th step of a run), each batch in a tensor made
// once: sampleTokensHost in place, and the whole phase (sampleOnBackend + the tokens' tensor
// disposed + the logits' tensor made and disposed is not in it).
const V = model.config.vocabSize;
const tensors = kept.map((x) => tf.tensor2d(x, [BATCH, V]));
const instances = Int32Array.from({ length: BATCH }, (_, i) => i);
const steps = Int32Array.from(instances);
const backend = tf.backend() as unknown as { typedArrayFromHeap: (t: tf.Tensor) => Float32Array };
const aloneHost: number[] = [];
const alonePhase: number[] = [];
for (let r = 0; r < 25; r++) {
  let t0 = cpuNow();
  for (const t of tensors) sampleTokensHost(backend.typedArrayFromHeap(t), V, {}, 1, instances, steps, tokenBuffer, wasmHeap());
  if (r >= 3) aloneHost.push((cpuNow() - t0) / tensors.length);
  t0 = cpuNow();
  for (const t of tensors) sampleOnBackend(t, {}, 1, instances, steps).dispose();
  if (r >= 3) alonePhase.push((cpuNow() - t0) / tensors.length);
}
for (const t of tensors) t.dispose();
const plainCpu = median(plain.map((x) => x.cpu));
console.log("");
console.log(`session.run allocated ${fmt(median(runBytes) / 1e6, 2)} MB of ArrayBuffers per call (median of ${runBytes.length}) (its outputs are returned as fresh copies, though pre-allocated).`);
console.log(`Logits' heap addresses in the loop: ${[...offsets].slice(0, 6).map((o) => `${o} (mod 64: ${o % 64})`).join(", ")}${offsets.size > 6 ? ` … (${offsets.size})` : ""}.`);
console.log(
  `Engine's sampler in the loop (profiled-wave's sample phase, median of ${RUNS}): ${fmt(plainCpu)} ms CPU per step (${fmt(median(plain.map((x) => x.wall)))} wall), step ${fmt(median(plain.map((x) => x.stepCpu)), 2)} ms. ` +
    `Alone on ${tensors.length} of the loop's batches: sampleTokensHost in place ${fmt(median(aloneHost))} ms CPU, sampleOnBackend + dispose ${fmt(median(alonePhase))} ms. Load at end ${load()}.`,
);
console.log(
  `ONNX sample phase, CPU ms per step: in the loop ${fmt(plainCpu)}, alone ${fmt(median(alonePhase))} (sampleTokensHost ${fmt(median(aloneHost))}); parts (counters ${fmt(med("counters", "cpu"))} each): ` +
    PARTS.filter((x) => x !== "counters").map((x) => `${x} ${fmt(med(x, "cpu"))}`).join(", ") + ".",
);
