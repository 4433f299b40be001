/**
 * Kernel benchmark: ours against tslab, measured the same way in the same process.
 *   cold start   spawn → first kernel_info_reply (the Jupyter handshake)
 *   ready        spawn → result of the first `1+1` (everything preloaded, type checker built)
 *   round trip   median of `1+1`: execute_request sent → execute_reply and idle received
 * Run: npx tsx bench/kernel.ts [rounds]
 */
import { join } from "node:path";
import { REPO_ROOT } from "../kernel/cells/prelude.js";
import { KernelClient } from "../test/kernel/client.js";

const ROUNDS = Number(process.argv[2] ?? 3);
const TRIPS = 40;

interface Sample {
  coldStartMs: number;
  readyMs: number;
  roundTripMs: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function measure(argv: string[] | undefined): Promise<Sample> {
  const kernel = await KernelClient.start({ argv });
  try {
    const coldStartMs = kernel.firstKernelInfoAt - kernel.spawnedAt;
    await kernel.execute("1+1", { timeoutMs: 120_000 });
    const readyMs = performance.now() - kernel.spawnedAt;
    const trips: number[] = [];
    for (let i = 0; i < TRIPS; i++) {
      const t = performance.now();
      await kernel.execute("1+1");
      trips.push(performance.now() - t);
    }
    return { coldStartMs, readyMs, roundTripMs: median(trips.slice(5)) };
  } finally {
    await kernel.close();
  }
}

const tslabArgv = [process.execPath, join(REPO_ROOT, "node_modules", "tslab", "bin", "tslab"), "kernel", "--config-path", "{connection_file}"];
const rows: Record<string, Sample[]> = { tslab: [], forge: [] };
for (let round = 0; round < ROUNDS; round++) {
  // Alternate so that machine load drifts hit both alike.
  rows.tslab!.push(await measure(tslabArgv));
  rows.forge!.push(await measure(undefined));
}
const summary = (samples: Sample[]) => ({
  coldStartMs: median(samples.map((s) => s.coldStartMs)),
  readyMs: median(samples.map((s) => s.readyMs)),
  roundTripMs: median(samples.map((s) => s.roundTripMs)),
});
const tslab = summary(rows.tslab!);
const forge = summary(rows.forge!);
const f = (x: number) => x.toFixed(1).padStart(8);
console.log(`kernel benchmark (${ROUNDS} rounds, median; round trip = median of ${TRIPS - 5} \`1+1\`)`);
console.log(`                 tslab      forge   forge/tslab`);
for (const key of ["coldStartMs", "readyMs", "roundTripMs"] as const) {
  console.log(`${key.padEnd(12)} ${f(tslab[key])} ms ${f(forge[key])} ms   ×${(forge[key] / tslab[key]).toFixed(2)}`);
}
process.exit(0);
