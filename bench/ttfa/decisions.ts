/**
 * What exact decision probabilities cost (issue #18 §2): the seed example on the default
 * backend (models/forge-tiny, the default engine — ONNX Runtime), batch 64, with
 * `logprobs: true` (pJump estimated along the walked path) and with
 * `logprobs: { decisions: "exact" }` (one probe forward per jump-site visit, beside the step),
 * alternated ROUNDS times in one process. The overhead is by CPU time (process.cpuUsage:
 * steady on a shared machine), wall time beside it; and the probe forwards' own CPU time, timed
 * around each call (steadier still when other tenants swing the whole runs). The last line prints
 * the overhead both ways.
 *
 *   npx tsx bench/ttfa/decisions.ts            # BATCH=64 MAX_GEN=16 ROUNDS=3
 */
import os from "node:os";
import { makeBackend } from "../../forge/session/backend.js";
import { benchWorkflow } from "./setup.js";
import type { RequestOptions } from "../../forge/engine/options.js";
import type { EngineParts } from "../../forge/engine/generate.js";

const BATCH = Number(process.env.BATCH ?? 64);
const MAX_GEN = Number(process.env.MAX_GEN ?? 16);
const ROUNDS = Number(process.env.ROUNDS ?? 3);

const workflow = benchWorkflow(MAX_GEN, 4);
const backend = await makeBackend();
// The probe forwards' own CPU time, timed around each call (steadier than the difference of two
// whole runs on a busy machine). The backend keeps its engine private: reached through a cast.
const step = (backend as unknown as { parts: EngineParts }).parts.engine;
const probeTime = { cpu: 0, calls: 0, rows: 0 };
if (step?.probe) {
  const probe = step.probe.bind(step);
  step.probe = (cache, rows, tokens, parents, positions) => {
    const cpu0 = process.cpuUsage();
    try {
      return probe(cache, rows, tokens, parents, positions);
    } finally {
      const cpu = process.cpuUsage(cpu0);
      probeTime.cpu += (cpu.user + cpu.system) / 1e6;
      probeTime.calls++;
      probeTime.rows += rows.length;
    }
  };
}

const variants: Array<[string, RequestOptions]> = [
  ["logprobs: true (estimate)", { logprobs: true }],
  ['logprobs: { decisions: "exact" }', { logprobs: { decisions: "exact" } }],
];
const totals = variants.map(() => ({ cpu: 0, wall: 0, tokens: 0, visits: 0, exact: 0 }));
await backend.run(workflow, { batchSize: 8, seed: 0, logprobs: { decisions: "exact" } }); // warm-up: compile, caches
Object.assign(probeTime, { cpu: 0, calls: 0, rows: 0 });
for (let round = 0; round < ROUNDS; round++) {
  // Alternate the order too, so neither variant always runs on a warmer process.
  const order = round % 2 === 0 ? [0, 1] : [1, 0];
  for (const k of order) {
    const options = variants[k]![1];
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const run = await backend.run(workflow, { batchSize: BATCH, seed: round, temperature: 1, ...options });
    const cpu = process.cpuUsage(cpu0);
    totals[k]!.cpu += (cpu.user + cpu.system) / 1e6;
    totals[k]!.wall += (performance.now() - t0) / 1000;
    totals[k]!.tokens += run.streams.reduce((n, s) => n + s.tokens.length, 0);
    totals[k]!.visits += run.decisions?.length ?? 0;
    totals[k]!.exact += run.decisions?.filter((d) => d.exact).length ?? 0;
  }
}
const info = backend.info();
const load = os.loadavg().map((l) => l.toFixed(1)).join(" ");
console.log(`model ${info.model} · engine ${backend.engine} · batch ${BATCH} · max_gen ${MAX_GEN} · ${ROUNDS} rounds · load ${load} · ${new Date().toISOString()}`);
console.log("| variant | CPU s | wall s | tokens/s (wall) | decisions (exact) |");
console.log("|---|---:|---:|---:|---:|");
for (const [k, [name]] of variants.entries()) {
  const t = totals[k]!;
  console.log(`| ${name} | ${t.cpu.toFixed(1)} | ${t.wall.toFixed(1)} | ${(t.tokens / t.wall).toFixed(0)} | ${t.visits} (${t.exact}) |`);
}
const [base, exact] = totals as [(typeof totals)[0], (typeof totals)[0]];
console.log(`probe forwards: ${probeTime.calls} calls for ${probeTime.rows} rows, ${probeTime.cpu.toFixed(2)} s CPU (${((probeTime.cpu / exact.cpu) * 100).toFixed(1)} % of the exact runs' CPU time)`);
console.log(
  `exact decisions overhead at batch ${BATCH}: ${((exact.cpu / base.cpu - 1) * 100).toFixed(1)} % CPU time by whole runs (${((exact.wall / base.wall - 1) * 100).toFixed(1)} % wall); ` +
    `probe forwards ${((probeTime.cpu / base.cpu) * 100).toFixed(1)} % of the estimate runs' CPU, ${((probeTime.cpu / Math.max(1, exact.exact)) * 1000).toFixed(2)} ms per exact decision`,
);
