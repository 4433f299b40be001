/**
 * Shrinking the batch (RequestOptions.shrinkBatch) on streams of different lengths. The
 * benchmark model of setup.ts never spells a zone token, so all its streams end together;
 * here the project's own model (models/forge-tiny) runs the README's seed example (loop of
 * 1–6 passes), where each stream leaves the loop when it decides to. Same process, same
 * seed: shrinkBatch off and on, alternated PAIRS times; wall time, CPU time (process
 * .cpuUsage, all threads: steadier on a shared machine), forward tokens, identical streams.
 *
 *   npx tsx bench/ttfa/tail.ts             # batch 64, 2 pairs
 *   BATCH=256 PAIRS=1 npx tsx bench/ttfa/tail.ts
 */
import os from "node:os";
import * as forge from "../../forge/index.js";

const BATCH = Number(process.env.BATCH ?? 64);
const PAIRS = Number(process.env.PAIRS ?? 2);
const fmt = (x: number, digits = 1) => x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

await forge.initBackend("wasm");
const { sequences, config } = await forge.parseUdplFile("notebooks/seed-example.toml");
const program = forge.newProgram(sequences, {}, config);
program.run("setup");
program.loop("control", (loop) => loop.run("reasoning", { question: "Are you alive?" }), { min: 1, max: 6 });
program.run("conclusion");
const workflow = program.compile()();
const backend = await forge.makeBackend();
await backend.run(workflow, { batchSize: 2, seed: 0, maxTokens: 50 }); // warm-up

async function measure(shrinkBatch: boolean) {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const run = await backend.run(workflow, { batchSize: BATCH, seed: 0, automaton: "host", shrinkBatch });
  const cpu = process.cpuUsage(cpu0);
  return { run, ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000 };
}

console.log(`Shrinking the batch — wasm backend, model ${backend.model.name}, seed example (loop 1–6), batch ${BATCH}, sampled; ${os.cpus().length} cores; load average ${os.loadavg().map((x) => x.toFixed(1)).join(" / ")}.`);
console.log("");
console.log("| pair | stream lengths (min / median / max) | off: wall s (CPU s) | on: wall s (CPU s) | speed-up | by CPU time | forward tokens off → on | identical |");
console.log("|---:|---|---:|---:|---:|---:|---|---|");
for (let pair = 1; pair <= PAIRS; pair++) {
  const off = await measure(false);
  const on = await measure(true);
  const lengths = off.run.streams.map((s) => s.tokens.length).sort((a, b) => a - b);
  const same = on.run.streams.filter((s, i) => s.tokens.join() === off.run.streams[i]!.tokens.join()).length;
  console.log(
    `| ${pair} | ${lengths[0]} / ${lengths[lengths.length >> 1]} / ${lengths.at(-1)} | ${fmt(off.ms / 1000)} (${fmt(off.cpuMs / 1000)}) | ${fmt(on.ms / 1000)} (${fmt(on.cpuMs / 1000)}) | ` +
      `${fmt(off.ms / on.ms, 2)}× | ${fmt(off.cpuMs / on.cpuMs, 2)}× | ${off.run.meta.forwardTokens} → ${on.run.meta.forwardTokens} | ${same}/${on.run.streams.length} |`,
  );
}
