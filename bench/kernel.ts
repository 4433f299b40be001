/**
 * Kernel benchmark: ours against tslab, measured the same way in the same process.
 *   cold start   spawn → first kernel_info_reply (the Jupyter handshake)
 *   ready        spawn → result of the first `1+1` (everything preloaded, type checker built)
 *   round trip   median of `1+1`: execute_request sent → execute_reply and idle received
 * The kernel's cell type surface (kernel/cells/type-surface.ts) is built first if stale.
 * Run: npx tsx bench/kernel.ts [rounds]
 */
import { join } from "node:path";
import { buildTypeSurface } from "../kernel/cells/type-surface.js";
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

async function measure(argv: string[] | undefined, env: Record<string, string> = {}): Promise<Sample> {
  const kernel = await KernelClient.start({ argv, env });
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
// "Everything preloaded": the cell type surface is built (or found cached) before measuring.
const surfaceStarted = performance.now();
const surface = await buildTypeSurface();
console.log(`cell type surface ready in ${(performance.now() - surfaceStarted).toFixed(0)} ms (${surface.dir})`);
// "sources": our kernel with the type checker reading forge's sources (no type surface), for comparison.
const rows: Record<string, Sample[]> = { tslab: [], forge: [], sources: [] };
for (let round = 0; round < ROUNDS; round++) {
  // Alternate so that machine load drifts hit all alike.
  rows.tslab!.push(await measure(tslabArgv));
  rows.forge!.push(await measure(undefined));
  rows.sources!.push(await measure(undefined, { FORGE_KERNEL_TYPE_SURFACE: "0" }));
}
const summary = (samples: Sample[]) => ({
  coldStartMs: median(samples.map((s) => s.coldStartMs)),
  readyMs: median(samples.map((s) => s.readyMs)),
  roundTripMs: median(samples.map((s) => s.roundTripMs)),
});
const tslab = summary(rows.tslab!);
const forge = summary(rows.forge!);
const sources = summary(rows.sources!);
const f = (x: number) => x.toFixed(1).padStart(8);
console.log(`kernel benchmark (${ROUNDS} rounds, median; round trip = median of ${TRIPS - 5} \`1+1\`)`);
console.log(`                 tslab         forge   forge/tslab   forge (sources)   sources/tslab`);
for (const key of ["coldStartMs", "readyMs", "roundTripMs"] as const) {
  console.log(`${key.padEnd(12)} ${f(tslab[key])} ms ${f(forge[key])} ms   ×${(forge[key] / tslab[key]).toFixed(2).padEnd(8)} ${f(sources[key])} ms     ×${(sources[key] / tslab[key]).toFixed(2)}`);
}
process.exit(0);
