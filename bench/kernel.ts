/**
 * Kernel benchmark: ours against tslab, measured the same way in the same process.
 *   kernel_info  spawn → first kernel_info_reply (the Jupyter handshake)
 *   ready        spawn → execute_result of the first `1+1`: what a user waits for before a first
 *                cell can run. The kernel runs no cell before forge/viz/datasets are imported and
 *                the type checker is built with their types (what completion needs), so this is
 *                the time until all of that is done (it answers kernel_info earlier).
 *   round trip   median of `1+1`: execute_request sent → execute_reply and idle received
 * Rows: tslab; forge as installed — kernel bundle and cell type surface built first when stale,
 * as `npm run kernel:install` does; forge run through tsx (FORGE_KERNEL_BUNDLE=0); forge with
 * the checker reading the sources (FORGE_KERNEL_TYPE_SURFACE=0).
 * Run: npx tsx bench/kernel.ts [rounds]
 */
import { join } from "node:path";
import { kernelBundle } from "../kernel/bundle.mjs";
import { buildTypeSurface } from "../kernel/cells/type-surface.js";
import { REPO_ROOT } from "../kernel/cells/prelude.js";
import { KernelClient } from "../test/kernel/client.js";

const ROUNDS = Number(process.argv[2] ?? 3);
const TRIPS = 40;

interface Sample {
  coldStartMs: number;
  readyMs: number;
  roundTripMs: number;
  /** The kernel's own timing log (FORGE_KERNEL_TIMING=1): stage → ms since its process started. */
  stages: Record<string, number>;
  /** What the type checker read: "type surface" or "sources" (null: not our kernel). */
  checkerReads: string | null;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Stage times out of the kernel's timing log. */
function parseTimingLog(stderr: string): Pick<Sample, "stages" | "checkerReads"> {
  const stages: Record<string, number> = {};
  let checkerReads: string | null = null;
  for (const line of stderr.split("\n")) {
    const simple = /^\[forge-kernel\] (.+?) (?:answered|imported) (\d+) ms after the process started/.exec(line);
    if (simple) stages[/kernel_info/.test(simple[1]!) ? "kernel_info answered" : "forge, viz, datasets imported"] = Number(simple[2]);
    const checker = /^\[forge-kernel\] type checker thread \(([^)]+)\): (.*)$/.exec(line);
    if (checker) {
      checkerReads = checker[1]!;
      for (const part of checker[2]!.split(", ")) {
        const m = /^(.*) (\d+) ms$/.exec(part);
        if (m) stages[`checker: ${m[1]}`] = Number(m[2]);
      }
    }
  }
  return { stages, checkerReads };
}

async function measure(argv: string[] | undefined, env: Record<string, string> = {}): Promise<Sample> {
  const kernel = await KernelClient.start({ argv, env: { FORGE_KERNEL_TIMING: "1", ...env } });
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
    return { coldStartMs, readyMs, roundTripMs: median(trips.slice(5)), ...parseTimingLog(kernel.stderr) };
  } finally {
    await kernel.close();
  }
}

/** What `npm run kernel:install` builds; each start checks it is up to date (a change rebuilds the bundle at start, and the type surface in the background). */
async function prepare(): Promise<void> {
  await kernelBundle();
  await buildTypeSurface();
}

const tslabArgv = [process.execPath, join(REPO_ROOT, "node_modules", "tslab", "bin", "tslab"), "kernel", "--config-path", "{connection_file}"];
const prepared = performance.now();
await prepare();
console.log(`kernel bundle and cell type surface ready in ${(performance.now() - prepared).toFixed(0)} ms`);

const ROWS = {
  tslab: { argv: tslabArgv, env: {} },
  forge: { argv: undefined, env: {} },
  "forge (tsx)": { argv: undefined, env: { FORGE_KERNEL_BUNDLE: "0" } },
  "forge (sources)": { argv: undefined, env: { FORGE_KERNEL_TYPE_SURFACE: "0" } },
} as const;
type Row = keyof typeof ROWS;
const rows = Object.fromEntries(Object.keys(ROWS).map((r) => [r, [] as Sample[]])) as Record<Row, Sample[]>;
for (let round = 0; round < ROUNDS; round++) {
  // Alternate so that machine load drifts hit all alike. Sources edited meanwhile are rebuilt
  // outside the measurement (a first start after an edit rebuilds the bundle: +0.3–0.5 s).
  for (const row of Object.keys(ROWS) as Row[]) {
    await prepare();
    rows[row].push(await measure(ROWS[row].argv, ROWS[row].env));
  }
}

const n = (x: number) => x.toFixed(x < 100 ? 1 : 0);
const range = (xs: number[]) => `${`${n(median(xs))} ms`.padStart(10)} (${n(Math.min(...xs))}–${n(Math.max(...xs))})`.padEnd(24);
console.log(`\nkernel benchmark: ${ROUNDS} rounds, median (min–max); round trip = median of the last ${TRIPS - 5} of ${TRIPS} \`1+1\``);
console.log("  kernel_info = spawn → first kernel_info_reply");
console.log("  ready       = spawn → result of the first `1+1`, run once forge/viz/datasets are imported and typed (no cell runs earlier)");
console.log(`${"".padEnd(16)} ${"kernel_info".padEnd(24)} ${"ready".padEnd(24)} ${"round trip".padEnd(24)}`);
for (const row of Object.keys(ROWS) as Row[]) {
  const samples = rows[row];
  const reads = [...new Set(samples.map((s) => s.checkerReads).filter((r) => r !== null))];
  const note = reads.length > 0 && !(row === "forge (sources)" ? reads.every((r) => r === "sources") : reads.every((r) => r === "type surface")) ? `  (checker read: ${reads.join(" / ")})` : "";
  console.log(
    `${row.padEnd(16)} ${range(samples.map((s) => s.coldStartMs))} ${range(samples.map((s) => s.readyMs))} ${range(samples.map((s) => s.roundTripMs))}${note}`,
  );
}
// Where forge's start goes: each stage's end, median over the rounds (ms since the kernel process started).
const stageNames = [...new Set(rows.forge.flatMap((s) => Object.keys(s.stages)))].sort((a, b) => median(rows.forge.map((s) => s.stages[a] ?? 0)) - median(rows.forge.map((s) => s.stages[b] ?? 0)));
console.log("\nforge's start, stage ends (median, ms after the kernel process started):");
for (const stage of stageNames) console.log(`  ${stage.padEnd(34)} ${median(rows.forge.map((s) => s.stages[stage] ?? NaN)).toFixed(0).padStart(6)}`);
process.exit(0);
