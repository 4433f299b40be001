import { describe, expect, it } from "vitest";
import { seededRandom } from "../../../forge/resources/random.js";
import {
  AgentRegistry,
  createWorkflowLibrary,
  defineProc,
  minePatterns,
  patternToWorkflow,
  runAgent,
  validateWorkflow,
  type ExecutionLogEntry,
} from "../../../agents/index.js";

/** Deterministic PRNG so the synthetic log is the same every run: the resources' seeded generator (mulberry32). */
const rng = seededRandom;

const P1 = ["fetch", "transform", "store", "notify"];
const P2 = ["search", "aggregate", "format"];
const P3 = ["login", "upload"];

/** Plants P1 in 40 sessions (30 fully successful), P2 in 25 (all successful), P3 in 6 (3 successful), amid noise. */
function syntheticLog(): ExecutionLogEntry[] {
  const random = rng(42);
  const log: ExecutionLogEntry[] = [];
  let session = 0;
  const noise = (s: string, t: { v: number }) => {
    const n = Math.floor(random() * 3);
    for (let i = 0; i < n; i++) log.push({ session: s, agent: `noise${Math.floor(random() * 40)}`, time: t.v++, success: random() < 0.7 });
  };
  const plant = (pattern: string[], times: number, successes: number) => {
    for (let k = 0; k < times; k++) {
      const s = `s${session++}`;
      const t = { v: 1_700_000_000_000 + session * 1000 };
      noise(s, t);
      pattern.forEach((agent, i) => {
        const ok = k < successes || i < pattern.length - 1; // failures hit the last call
        log.push({ session: s, agent, time: t.v++, success: ok });
      });
      noise(s, t);
    }
  };
  plant(P1, 40, 30);
  plant(P2, 25, 25);
  plant(P3, 6, 3);
  // Logs arrive out of order: the miner must sort each session by time.
  for (let i = log.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [log[i], log[j]] = [log[j]!, log[i]!];
  }
  return log;
}

describe("pattern mining", () => {
  it("recovers planted sequences with their support and success rate, ranked by frequency × success rate", () => {
    const patterns = minePatterns(syntheticLog(), { minSupport: 5 });
    const top = patterns.slice(0, 3).map((p) => ({ agents: p.agents, support: p.support, successes: p.successes, successRate: p.successRate, score: p.score }));
    expect(top).toEqual([
      { agents: P1, support: 40, successes: 30, successRate: 0.75, score: 30 },
      { agents: P2, support: 25, successes: 25, successRate: 1, score: 25 },
      { agents: P3, support: 6, successes: 3, successRate: 0.5, score: 3 },
    ]);
    // Closed patterns only: sub-sequences with the same support (fetch→transform, …) are not repeated.
    expect(patterns.some((p) => p.agents.join() === "fetch,transform")).toBe(false);
    // Nothing made only of noise is frequent enough.
    expect(patterns.filter((p) => p.agents.every((a) => a.startsWith("noise")))).toEqual([]);
  });

  it("without the closed filter, sub-sequences appear with their own counts", () => {
    const patterns = minePatterns(syntheticLog(), { minSupport: 5, closedOnly: false });
    const sub = patterns.find((p) => p.agents.join() === "fetch,transform,store")!;
    expect(sub).toMatchObject({ support: 40, occurrences: 40, successes: 40, successRate: 1 });
  });

  it("reports a bad log entry by its line", () => {
    expect(() => minePatterns([{ session: "a", agent: "x", time: "yesterday", success: true }])).toThrow(/entry 1: time "yesterday" is not a time/);
  });
});

describe("suggested workflows and the library", () => {
  const registry = new AgentRegistry([
    defineProc({ name: "fetch", help: "", inputs: { url: { help: "" } }, outputs: { data: { help: "" } }, run: (i) => ({ data: `<${i.url as string}>` }) }),
    defineProc({ name: "transform", help: "", inputs: { data: { help: "" } }, outputs: { data: { help: "" } }, run: (i) => ({ data: (i.data as string).toUpperCase() }) }),
    defineProc({ name: "store", help: "", inputs: { data: { help: "" } }, outputs: { id: { help: "" } }, run: (i) => ({ id: `id:${i.data as string}` }) }),
    defineProc({ name: "notify", help: "", inputs: { id: { help: "" }, channel: { help: "" } }, outputs: { sent: { help: "" } }, run: (i) => ({ sent: `${i.channel as string} ${i.id as string}` }) }),
  ]);

  it("turns a pattern into a wired, valid, runnable workflow", async () => {
    const [best] = minePatterns(syntheticLog(), { minSupport: 5 });
    const wf = patternToWorkflow(best!, registry);
    expect(wf.steps.map((s) => [s.agent, s.inputs])).toEqual([
      ["fetch", { url: "{{url}}" }],
      ["transform", { data: "{{s1.data}}" }],
      ["store", { data: "{{s2.data}}" }],
      ["notify", { id: "{{s3.id}}", channel: "{{channel}}" }],
    ]);
    expect(Object.keys(wf.inputs)).toEqual(["url", "channel"]);
    expect(validateWorkflow(wf, registry)).toEqual([]);
    const { outputs } = await runAgent(wf, { url: "x", channel: "#dev" }, { registry });
    expect(outputs).toEqual({ sent: "#dev id:<X>" });
  });

  it("registers workflows and suggests them by agents or words", () => {
    const library = createWorkflowLibrary();
    const mined = library.learn(syntheticLog(), registry, { minSupport: 5 });
    expect(mined.map((w) => w.name).slice(0, 2)).toEqual(["mined.fetch+transform+store+notify", "mined.search+aggregate+format"]);
    const byAgents = library.suggest({ agents: ["fetch", "store"] });
    expect(byAgents[0]!.workflow.name).toBe("mined.fetch+transform+store+notify");
    expect(byAgents[0]!.reason).toMatch(/100% of the agents in order, used 40×, success 75%/);
    expect(library.suggest({ text: "sample export" })[0]!.workflow.name).toBe("forge.sample_and_export");
    library.register(
      { ...patternToWorkflow({ agents: ["fetch", "store"], support: 0, occurrences: 0, successes: 0, successRate: 0, score: 0 }, registry, "quick_store") },
      { usageCount: 100, successRate: 1 },
    );
    expect(library.suggest({ agents: ["fetch", "store"] })[0]!.workflow.name).toBe("quick_store");
    expect(library.suggest({ agents: ["nothing"] })).toEqual([]);
  });
});
