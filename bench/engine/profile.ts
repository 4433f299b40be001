/**
 * Where the ONNX engine's decode step goes (issue 17): the step graph of bench/engine's model
 * (shape.ts, int8 weights unless FORGE_ONNX_WEIGHTS=f32) run at a raw-loop shape and at a
 * Forge seed-run shape, timed by CPU and wall in one process, alternating, and once under ONNX
 * Runtime's profiler (one JSON trace per node) to split the step by operator.
 *
 *   npx tsx bench/engine/profile.ts                          # batch 64, 30 layers
 *   LAYERS=6 STEPS=4 npx tsx bench/engine/profile.ts         # quicker
 *   SPIN=1 npx tsx bench/engine/profile.ts                   # also time with spinning intra-op threads
 *   BEFORE=/tmp/old/forge/backend/onnx/graph.ts npx tsx bench/engine/profile.ts
 *       # also time an earlier graph.ts (e.g. `git archive <commit> | tar -x -C /tmp/old`, with
 *       # node_modules linked there), alternating with this one step by step
 *
 * Shapes (S = 1, one decode step per row):
 * - raw: no prefix (the one-column masked placeholder), M = 64 own columns of which USED_RAW
 *   (default 12: the middle of a 24-step raw loop) are unmasked;
 * - seed: a PREFIX-column shared prefix (default 266: the seed example's shared prefix in this
 *   tokenizer) and M = 128 own columns of which USED_SEED (default 67) are unmasked — the
 *   middle of bench/engine's seed run at batch 64, where all 64 streams run to the 400-token
 *   cap: 134 decode steps, every row active, own columns 1..134 (M = 64, 128, 192).
 * Each timed run goes through the native binding's synchronous run with pre-allocated outputs,
 * as model.ts does. The profile groups node time by operator and, for MatMul, by the product
 * (prefix, own columns, this call's tokens), for the seed shape.
 * The last line: seed-shape step ÷ raw-shape step, by CPU time.
 */
import os from "node:os";
import { readFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initBackend } from "../../forge/backend/index.js";
import { hostWeights, loadOnnxRuntime } from "../../forge/backend/onnx/model.js";
import { buildDecoderGraph, IO, type WeightFormat } from "../../forge/backend/onnx/graph.js";
import { smolModel, SMOL_135M } from "./shape.js";

const B = Number(process.env.B ?? 64);
const STEPS = Number(process.env.STEPS ?? 6);
const PREFIX = Number(process.env.PREFIX ?? 266);
const USED_RAW = Number(process.env.USED_RAW ?? 12);
const USED_SEED = Number(process.env.USED_SEED ?? 67);
const THREADS = Number(process.env.FORGE_ONNX_THREADS ?? os.availableParallelism());
const WEIGHTS = (process.env.FORGE_ONNX_WEIGHTS ?? "int8") as WeightFormat;
const CONFIG = { ...SMOL_135M, layers: Number(process.env.LAYERS ?? SMOL_135M.layers) };
const load = () => os.loadavg()[0]!.toFixed(1);

await initBackend("wasm");
const t0 = performance.now();
const model = smolModel(CONFIG);
const host = hostWeights(model);
const graph = buildDecoderGraph(CONFIG, host, model.name, { weights: WEIGHTS });
const before =
  process.env.BEFORE === undefined
    ? null
    : ((await import(process.env.BEFORE)) as { buildDecoderGraph: typeof buildDecoderGraph }).buildDecoderGraph(CONFIG, host, model.name, { weights: WEIGHTS });
const { ort, native } = await loadOnnxRuntime();
native.initOrt();
type OrtTensor = InstanceType<typeof ort.Tensor>;

function options(spin: boolean, profile?: string): object {
  return {
    executionProviders: [{ name: "cpu" }],
    intraOpNumThreads: THREADS,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
    executionMode: "sequential",
    enableCpuMemArena: true,
    enableMemPattern: true,
    ...(profile === undefined ? {} : { enableProfiling: true, profileFilePrefix: profile }),
    extra: { "session.intra_op.allow_spinning": spin ? "1" : "0" },
  };
}
function open(spin: boolean, profile?: string, model: Uint8Array = graph) {
  const session = new native.binding.InferenceSession() as unknown as {
    loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: object): unknown;
    run(feeds: Record<string, OrtTensor>, fetches: Record<string, OrtTensor | null>, options: object): unknown;
    endProfiling(): string;
    dispose(): void;
  };
  session.loadModel(model.buffer as ArrayBuffer, model.byteOffset, model.byteLength, options(spin, profile));
  return session;
}

const { layers, kvHeads: KV, headDim: D, heads, vocabSize: V } = CONFIG;
const g = heads / KV;
let seed = 7;
const rand = (n: number) => Float32Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.5);

/** Feeds and pre-allocated fetches of one decode step (S = 1) with P prefix columns (0: placeholder) and `used` of M own columns. */
function step(P: number, M: number, used: number) {
  const Pc = Math.max(P, 1);
  const feeds: Record<string, OrtTensor> = {
    [IO.ids]: new ort.Tensor("int32", Int32Array.from({ length: B }, (_, b) => (b * 997) % V), [B, 1]),
    [IO.positions]: new ort.Tensor("int64", new BigInt64Array(B).fill(BigInt(P + used)), [B, 1]),
    [IO.lastRows]: new ort.Tensor("int64", BigInt64Array.from({ length: B }, (_, b) => BigInt(b)), [B]),
    [IO.ownMask]: new ort.Tensor("float32", Float32Array.from({ length: B * M }, (_, i) => (i % M < used ? 0 : -1e9)), [B, 1, 1, M]),
    [IO.prefixMask]: new ort.Tensor("float32", new Float32Array(Pc).fill(P > 0 ? 0 : -1e9), [1, 1, 1, Pc]),
    [IO.stepMask]: new ort.Tensor("float32", new Float32Array(g), [g, 1]),
  };
  const fetches: Record<string, OrtTensor> = { [IO.logits]: new ort.Tensor("float32", new Float32Array(B * V), [B, V]) };
  for (let l = 0; l < layers; l++) {
    feeds[IO.ownKeys(l)] = new ort.Tensor("float32", rand(B * KV * M * D), [B, KV, M, D]);
    feeds[IO.ownValues(l)] = new ort.Tensor("float32", rand(B * KV * M * D), [B, KV, D, M]);
    feeds[IO.prefixKeys(l)] = new ort.Tensor("float32", rand(KV * D * Pc), [KV, D, Pc]);
    feeds[IO.prefixValues(l)] = new ort.Tensor("float32", rand(KV * D * Pc), [KV, Pc, D]);
    fetches[IO.newKeys(l)] = new ort.Tensor("float32", new Float32Array(B * KV * D), [B, 1, KV * D]);
    fetches[IO.newValues(l)] = new ort.Tensor("float32", new Float32Array(B * KV * D), [B, 1, KV * D]);
  }
  return { feeds, fetches };
}

const shapes = { raw: step(0, 64, USED_RAW), seed: step(PREFIX, 128, USED_SEED) };
console.log(
  `ONNX step profile — ${model.name}, ${layers} layers, ${WEIGHTS} weights, batch ${B}, ${THREADS} threads; graph built in ${((performance.now() - t0) / 1000).toFixed(1)} s; load ${load()}`,
);

type Session = ReturnType<typeof open>;
/** ms per step (wall, CPU) of each shape, alternating shapes (and sessions) per step. */
function timeSteps(session: Session, label: string, other?: { session: Session; label: string }): Record<string, { wall: number; cpu: number }> {
  const sessions = other === undefined ? [session] : [session, other.session];
  for (const run of sessions) for (const s of Object.values(shapes)) for (let i = 0; i < 2; i++) run.run(s.feeds, s.fetches, {}); // warm-up
  const sum: Record<string, { wall: number; cpu: number }> = { raw: { wall: 0, cpu: 0 }, seed: { wall: 0, cpu: 0 } };
  const otherSum: Record<string, { wall: number; cpu: number }> = { raw: { wall: 0, cpu: 0 }, seed: { wall: 0, cpu: 0 } };
  for (let i = 0; i < STEPS; i++)
    for (const [name, s] of Object.entries(shapes))
      sessions.forEach((run, j) => {
        const c0 = process.cpuUsage();
        const w0 = performance.now();
        run.run(s.feeds, s.fetches, {});
        const c = process.cpuUsage(c0);
        const into = j === 0 ? sum : otherSum;
        into[name]!.wall += performance.now() - w0;
        into[name]!.cpu += (c.user + c.system) / 1000;
      });
  if (other !== undefined) {
    for (const v of Object.values(otherSum)) (v.wall /= STEPS), (v.cpu /= STEPS);
    console.log(
      `${other.label}: raw ${otherSum.raw!.wall.toFixed(1)} ms wall / ${otherSum.raw!.cpu.toFixed(1)} ms CPU, seed ${otherSum.seed!.wall.toFixed(1)} / ${otherSum.seed!.cpu.toFixed(1)} per step (load ${load()})`,
    );
    beforeTimings = otherSum;
  }
  for (const v of Object.values(sum)) (v.wall /= STEPS), (v.cpu /= STEPS);
  console.log(
    `${label}: raw ${sum.raw!.wall.toFixed(1)} ms wall / ${sum.raw!.cpu.toFixed(1)} ms CPU, seed ${sum.seed!.wall.toFixed(1)} / ${sum.seed!.cpu.toFixed(1)} per step (load ${load()})`,
  );
  return sum;
}

let beforeTimings = null as Record<string, { wall: number; cpu: number }> | null;
const plain = open(false);
const old = before === null ? null : open(false, undefined, before);
const timings = [timeSteps(plain, "no spin", old === null ? undefined : { session: old, label: "no spin, BEFORE graph" })];
old?.dispose();
if (process.env.SPIN === "1") {
  const spinning = open(true);
  timings.push(timeSteps(spinning, "spin"), timeSteps(plain, "no spin again"));
  spinning.dispose();
}
plain.dispose();

// The profiler, on one shape: PROFILE_SHAPE=seed (default) or raw; PROFILE=0 skips it.
if (process.env.PROFILE !== "0") {
  const shapeName = process.env.PROFILE_SHAPE === "raw" ? "raw" : "seed";
  const dir = mkdtempSync(join(tmpdir(), "forge-onnx-profile-"));
  const profiled = open(false, join(dir, "step"));
  const s = shapes[shapeName];
  for (let i = 0; i < 2 + STEPS; i++) profiled.run(s.feeds, s.fetches, {});
  const file = profiled.endProfiling();
  profiled.dispose();
  interface Event { cat: string; name: string; dur: number; args?: { op_name?: string; output_type_shape?: Array<Record<string, number[]>>; input_type_shape?: Array<Record<string, number[]>> } }
  const events = JSON.parse(readFileSync(file, "utf8")) as Event[];
  const runs = events.filter((e) => e.name === "model_run");
  const measured = runs.slice(2);
  const runUs = measured.reduce((n, e) => n + e.dur, 0) / measured.length;
  // Node events of the measured runs: a run's model_run event is logged at its end, after its
  // nodes' events, so the nodes after the second model_run are those of the STEPS measured runs.
  const byKey = new Map<string, number>();
  const calls = new Map<string, number>();
  let seen = 0;
  for (const e of events) {
    if (e.name === "model_run") seen++;
    if (seen < 2 || e.cat !== "Node" || !e.name.endsWith("_kernel_time")) continue;
    const op = e.args?.op_name ?? "?";
    let key = op;
    if (op === "MatMul" || op === "FusedMatMul") {
      const inShapes = (e.args?.input_type_shape ?? []).map((x) => Object.values(x)[0]!);
      const a = inShapes[0] ?? [];
      const b = inShapes[1] ?? [];
      key = `${op} ${JSON.stringify(a)}×${JSON.stringify(b)}`;
    } else if (op === "MatMulNBits") {
      const out = Object.values(e.args?.output_type_shape?.[0] ?? {})[0] ?? [];
      key = out.at(-1) === V ? "MatMulNBits (LM head)" : "MatMulNBits (layers)";
    } else if (op === "Transpose" || op === "Concat" || op === "Softmax" || op === "Split" || op === "Add" || op === "Mul" || op === "Cast") {
      const out = Object.values(e.args?.output_type_shape?.[0] ?? {})[0] ?? [];
      key = `${op} → ${JSON.stringify(out)}`;
    }
    byKey.set(key, (byKey.get(key) ?? 0) + e.dur);
    calls.set(key, (calls.get(key) ?? 0) + 1);
  }
  const perRun = (us: number) => us / STEPS / 1000;
  const total = [...byKey.values()].reduce((a, b) => a + b, 0);
  console.log(`\nProfile of the ${shapeName} shape (${file}): model_run ${(runUs / 1000).toFixed(1)} ms wall per step; node time ${perRun(total).toFixed(1)} ms per step (kernel wall time, not CPU); by operator:`);
  for (const [k, us] of [...byKey.entries()].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`  ${perRun(us).toFixed(2).padStart(8)} ms  ${((100 * us) / total).toFixed(1).padStart(5)} %  ${String(calls.get(k)! / STEPS).padStart(4)}×  ${k}`);
}

const cpu = (k: "raw" | "seed") => timings.reduce((n, t) => n + t[k].cpu, 0) / timings.length;
if (beforeTimings !== null)
  console.log(
    `this graph ÷ BEFORE by CPU time: raw shape ${(timings[0]!.raw!.cpu / beforeTimings.raw!.cpu).toFixed(2)}, seed shape ${(timings[0]!.seed!.cpu / beforeTimings.seed!.cpu).toFixed(2)}; by wall ${(timings[0]!.raw!.wall / beforeTimings.raw!.wall).toFixed(2)}, ${(timings[0]!.seed!.wall / beforeTimings.seed!.wall).toFixed(2)}`,
  );
console.log(`\nseed-shape step ÷ raw-shape step by CPU time: ${(cpu("seed") / cpu("raw")).toFixed(2)} (${cpu("seed").toFixed(1)} / ${cpu("raw").toFixed(1)} ms, load ${load()})`);
