/**
 * Executor overhead per step and the tape's cost per event.
 *
 *   npx tsx bench/agents/executor.bench.ts [steps=10000]
 *
 * Baseline (same process): awaiting the no-op agent's function directly, N times. Figures are
 * the median of 5 timed runs after a warm-up; ratios are against that baseline.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  Tape,
  createDefaultRegistry,
  defineProc,
  defineWorkflow,
  invokeAgent,
  planWorkflow,
  runAgent,
  systemClock,
  type AgentContext,
  type ProcAgent,
  type StepSpec,
  type TapeDurability,
} from "../../agents/index.js";

const N = Number(process.argv[2] ?? 10_000);
const registry = createDefaultRegistry();
const noop = registry.require("noop");
// A side-effecting no-op (issue #15, item 15): every event of its steps is committed before the run goes on.
registry.register(
  defineProc({
    name: "effect.noop",
    help: "a no-op that declares side effects",
    optionalInputs: { value: { help: "", default: null } },
    outputs: { value: { help: "" } },
    sideEffects: { idempotent: true },
    run: (i) => ({ value: i.value }),
  }),
);

async function median(label: string, fn: () => Promise<unknown>, runs = 5): Promise<number> {
  await fn(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const ms = times[Math.floor(runs / 2)]!;
  void label;
  return ms;
}

const ctx: AgentContext = {
  path: "", registry, clock: systemClock, random: Math.random, signal: new AbortController().signal,
  dryRun: false, env: {}, runId: "bench", concurrency: 8, call: () => Promise.resolve({}),
};

const sequential = defineWorkflow({ name: "seq", help: "", steps: Array.from({ length: N }, (_, i): StepSpec => ({ id: `s${i}`, agent: "noop" })) });
const independent = defineWorkflow({ name: "par", help: "", steps: Array.from({ length: N }, (_, i): StepSpec => ({ id: `s${i}`, agent: "noop", dependsOn: [] })) });
const templated = defineWorkflow({
  name: "tpl",
  help: "",
  steps: Array.from({ length: N }, (_, i): StepSpec => ({ id: `s${i}`, agent: "noop", inputs: { value: i === 0 ? 0 : `{{s${i - 1}.value}}` } })),
});

const noopRun = (noop as ProcAgent).run;
const baseline = await median("direct", async () => {
  for (let i = 0; i < N; i++) await noopRun({ value: null }, ctx);
});
const direct = await median("invokeAgent", async () => {
  for (let i = 0; i < N; i++) await invokeAgent(noop, {}, ctx);
});
const planStart = performance.now();
planWorkflow(defineWorkflow({ ...sequential, name: "fresh" }), registry);
const planMs = performance.now() - planStart;
const seq = await median("sequential", () => runAgent(sequential, {}, { registry }));
const par = await median("independent", () => runAgent(independent, {}, { registry }));
const tpl = await median("templated", () => runAgent(templated, {}, { registry }));

const dir = mkdtempSync(join(tmpdir(), "forge-bench-"));
async function tapeFigures(durability: TapeDurability) {
  const tape = Tape.open(join(dir, `tape-${durability}.sqlite`), { durability });
  let runNo = 0;
  const runs = durability === "event" ? 1 : 5; // per-event commits are slow: one timed run
  const taped = await median("taped", () => runAgent(sequential, {}, { registry, tape, runId: `r${runNo++}` }), runs);
  const eventsPerRun = tape.events("r0").length;
  const rawEvents = durability === "event" ? 5_000 : 50_000;
  const rawStart = performance.now();
  for (let i = 0; i < rawEvents; i++) tape.record({ runId: "raw", path: `s${i}`, kind: "succeeded", attempt: 1, outputs: { value: null }, status: "succeeded" });
  tape.flush();
  const rawMs = performance.now() - rawStart;
  tape.close();
  return { taped, eventsPerRun, rawUs: (rawMs * 1000) / rawEvents };
}
const grouped = await tapeFigures("turn");
const perEvent = await tapeFigures("event");

// Side-effecting steps on the default tape: two commits per step (start, end). Fewer steps: each costs a commit.
const M = Math.max(100, Math.floor(N / 10));
const effectful = defineWorkflow({ name: "fx", help: "", steps: Array.from({ length: M }, (_, i): StepSpec => ({ id: `s${i}`, agent: "effect.noop" })) });
const pureFew = defineWorkflow({ name: "pure-few", help: "", steps: Array.from({ length: M }, (_, i): StepSpec => ({ id: `s${i}`, agent: "noop" })) });
const fxTape = Tape.open(join(dir, "tape-fx.sqlite"));
let fxRun = 0;
const fxMs = await median("effects", () => runAgent(effectful, {}, { registry, tape: fxTape, runId: `fx${fxRun++}` }), 3);
const pureFewMs = await median("pure-few", () => runAgent(pureFew, {}, { registry, tape: fxTape, runId: `pf${fxRun++}` }), 3);
fxTape.close();
rmSync(dir, { recursive: true, force: true });
const usM = (ms: number) => ((ms * 1000) / M).toFixed(2);

const us = (ms: number) => ((ms * 1000) / N).toFixed(2);
console.log(`agents executor, ${N} no-op steps (median of 5, Node ${process.version})`);
console.log(`  baseline: await agent.run() directly     ${us(baseline)} µs/step`);
console.log(`  invokeAgent (input/output checks)       ${us(direct)} µs/step  (${(direct / baseline).toFixed(1)}× baseline)`);
console.log(`  plan + validate (once per workflow)     ${us(planMs)} µs/step`);
console.log(`  workflow, sequential (no dependsOn)     ${us(seq)} µs/step  (${(seq / baseline).toFixed(1)}× baseline)`);
console.log(`  workflow, independent (concurrency 8)   ${us(par)} µs/step  (${(par / baseline).toFixed(1)}× baseline)`);
console.log(`  workflow, chained templates {{prev.x}}  ${us(tpl)} µs/step  (${(tpl / baseline).toFixed(1)}× baseline)`);
for (const [name, f] of [["group commit per turn (default)", grouped], ["commit per event", perEvent]] as const) {
  console.log(`  tape, ${name}:`);
  console.log(`    sequential workflow + tape            ${us(f.taped)} µs/step  (${(f.taped / seq).toFixed(1)}× untaped; ${f.eventsPerRun / N} events/step)`);
  console.log(`    cost per event, in that workflow      ${(((f.taped - seq) * 1000) / f.eventsPerRun).toFixed(2)} µs/event`);
  console.log(`    tape.record() alone                   ${f.rawUs.toFixed(2)} µs/event`);
}
console.log(`  side-effecting steps (sideEffects declared), default tape, ${M} steps:`);
console.log(`    pure steps, same workflow shape       ${usM(pureFewMs)} µs/step`);
console.log(`    side-effecting steps                  ${usM(fxMs)} µs/step  (${(fxMs / pureFewMs).toFixed(1)}× pure; start and end committed)`);
