/**
 * What the logprob instrument costs (issue #18: ≤ 5 % of throughput at batch 64 on the
 * project's model): the seed example on the default backend (models/forge-tiny, the default
 * engine), batch 64, runs without logprobs, with `logprobs: true` and with `{ top: 5 }`,
 * alternated ROUNDS times in one process. Ratios by CPU time (process.cpuUsage: steady on a
 * shared machine, where wall time swings with the other tenants), wall time beside them.
 *
 *   npx tsx bench/ttfa/logprobs.ts            # BATCH=64 MAX_GEN=16 ROUNDS=3
 */
import os from "node:os";
import { makeBackend } from "../../forge/session/backend.js";
import { benchWorkflow } from "./setup.js";
import type { RequestOptions } from "../../forge/engine/options.js";

const BATCH = Number(process.env.BATCH ?? 64);
const MAX_GEN = Number(process.env.MAX_GEN ?? 16);
const ROUNDS = Number(process.env.ROUNDS ?? 3);

const workflow = benchWorkflow(MAX_GEN, 4);
const backend = await makeBackend();

const variants: Array<[string, RequestOptions]> = [
  ["without logprobs", {}],
  ["logprobs: true", { logprobs: true }],
  ["logprobs: { top: 5 }", { logprobs: { top: 5 } }],
];
const totals = variants.map(() => ({ cpu: 0, wall: 0, tokens: 0 }));
await backend.run(workflow, { batchSize: 8, seed: 0 }); // warm-up: compile, caches
for (let round = 0; round < ROUNDS; round++) {
  for (const [k, [, options]] of variants.entries()) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const run = await backend.run(workflow, { batchSize: BATCH, seed: round, temperature: 1, ...options });
    const cpu = process.cpuUsage(cpu0);
    totals[k]!.cpu += (cpu.user + cpu.system) / 1e6;
    totals[k]!.wall += (performance.now() - t0) / 1000;
    totals[k]!.tokens += run.streams.reduce((n, s) => n + s.tokens.length, 0);
  }
}
const info = backend.info();
console.log(`model ${info.model} · engine ${backend.engine} · batch ${BATCH} · max_gen ${MAX_GEN} · ${ROUNDS} rounds · load ${os.loadavg()[0]!.toFixed(1)} · ${new Date().toISOString()}`);
console.log("| variant | CPU s | wall s | tokens/s (wall) | cost by CPU time |");
console.log("|---|---:|---:|---:|---:|");
for (const [k, [name]] of variants.entries()) {
  const t = totals[k]!;
  const cost = k === 0 ? "—" : `${(((t.cpu / totals[0]!.cpu) - 1) * 100).toFixed(1)} %`;
  console.log(`| ${name} | ${t.cpu.toFixed(1)} | ${t.wall.toFixed(1)} | ${(t.tokens / t.wall).toFixed(0)} | ${cost} |`);
}
