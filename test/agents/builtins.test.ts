/**
 * The built-ins. The engine and the datasets layer are wired in by the lead; here a fake
 * session and a fake exporter stand in for them, and the tests are about the logic around
 * them: program lookup, argument passing, the Arrow table, dry run, the loop's control flow.
 */
import { Table } from "apache-arrow";
import { describe, expect, it } from "vitest";
import {
  AgentRegistry,
  createDefaultRegistry,
  defineProc,
  defineWorkflow,
  runAgent,
  type ForgeSession,
} from "../../agents/index.js";
import type { Run } from "../../forge/run/types.js";
import type { SzcpWorkflow } from "../../forge/szcp/types.js";

const program = (name: string): SzcpWorkflow => ({
  format: "forge.szcp",
  version: 1,
  config: { zoneTokens: ["[P]", "[A]", "[EOS]"], controlToken: "[J]", escape: null, tokenizerOverride: {}, tools: [] },
  zones: [],
  counters: 0,
  extractions: [{ name: "answer", tags: ["a"] }],
  meta: { name },
});

function fakeSession() {
  const requests: Array<{ config: unknown; workflow: SzcpWorkflow; options: unknown }> = [];
  const session: ForgeSession = {
    async request(config, workflow, options) {
      requests.push({ config, workflow, options });
      const answers = Array.from({ length: options.batchSize }, (_, i) => `${workflow.meta.name}-${options.seed}-${i}`);
      return { extractions: { answer: answers, reason: answers.map((a) => `because ${a}`) }, run: { meta: { runId: `run-${options.seed}` } } as Run };
    },
  };
  return { session, requests };
}

describe("forge.sample and datasets.export", () => {
  it("samples a named program and returns the extractions as an Arrow table", async () => {
    const { session, requests } = fakeSession();
    const registry = createDefaultRegistry({ session, programs: { qa: (args) => program(`qa:${String(args?.topic)}`) } });
    const { outputs } = await runAgent("forge.sample", { program: "qa", args: { topic: "cats" }, batchSize: "3", seed: 7, config: { temperature: 0.5 } }, { registry });
    const table = outputs.table as Table;
    expect(table).toBeInstanceOf(Table);
    expect(table.schema.fields.map((f) => f.name)).toEqual(["stream", "answer", "reason"]);
    expect(table.toArray().map((r) => r.toJSON())).toEqual([
      { stream: 0, answer: "qa:cats-7-0", reason: "because qa:cats-7-0" },
      { stream: 1, answer: "qa:cats-7-1", reason: "because qa:cats-7-1" },
      { stream: 2, answer: "qa:cats-7-2", reason: "because qa:cats-7-2" },
    ]);
    expect(outputs.runId).toBe("run-7");
    expect(requests[0]).toMatchObject({ config: { temperature: 0.5 }, options: { batchSize: 3, seed: 7 } });
    await expect(runAgent("forge.sample", { program: "nope" }, { registry })).rejects.toThrow(/unknown program "nope" \(known: qa\)/);
    await expect(runAgent("forge.sample", { program: "qa" }, { registry: createDefaultRegistry() })).rejects.toThrow(/no Forge session is configured/);
  });

  it("chains sample → export in the built-in workflow, with dry run honoured", async () => {
    const { session } = fakeSession();
    const exported: Array<{ rows: number; path: string }> = [];
    const registry = createDefaultRegistry({
      session,
      programs: { qa: () => program("qa") },
      exporter: (table, { path }) => (exported.push({ rows: table.numRows, path }), { path, rows: table.numRows }),
    });
    registry.register(
      defineWorkflow({
        name: "sampleExport",
        help: "",
        steps: [
          { id: "s", agent: "forge.sample", inputs: { program: "qa", batchSize: 4 } },
          { id: "e", agent: "datasets.export", inputs: { table: "{{s.table}}", path: "/data/out.parquet" } },
        ],
        returns: { rows: "{{e.rows}}", written: "{{e.written}}" },
      }),
    );
    expect((await runAgent("sampleExport", {}, { registry })).outputs).toEqual({ rows: 4, written: true });
    expect((await runAgent("sampleExport", {}, { registry, dryRun: true })).outputs).toEqual({ rows: 4, written: false });
    expect(exported).toEqual([{ rows: 4, path: "/data/out.parquet" }]);
  });
});

describe("loop", () => {
  function refineRegistry() {
    const calls: number[] = [];
    const registry = createDefaultRegistry();
    registry.register(
      defineProc({
        name: "refine",
        help: "raises the score by 0.25 per pass",
        inputs: { score: { help: "" } },
        outputs: { score: { help: "" } },
        run: (i) => (calls.push(i.score as number), { score: (i.score as number) + 0.25 }),
      }),
    );
    registry.register(
      defineWorkflow({
        name: "pass",
        help: "a sub-workflow body",
        inputs: { score: { help: "" } },
        steps: [{ id: "r", agent: "refine", inputs: { score: "{{score}}" } }],
        returns: { score: "{{r.score}}" },
      }),
    );
    return { registry, calls };
  }

  it("repeats a sub-workflow until its condition holds, feeding outputs back", async () => {
    const { registry, calls } = refineRegistry();
    const { outputs } = await runAgent("loop", { body: "pass", inputs: { score: 0 }, until: "score >= 0.9", maxIterations: 10 }, { registry });
    expect(outputs.iterations).toBe(4);
    expect(outputs.last).toEqual({ score: 1 });
    expect(calls).toEqual([0, 0.25, 0.5, 0.75]);
  });

  it("stops at the maximum; the condition can read `iteration`", async () => {
    const { registry } = refineRegistry();
    expect((await runAgent("loop", { body: "pass", inputs: { score: 0 }, maxIterations: 3 }, { registry })).outputs.iterations).toBe(3);
    expect((await runAgent("loop", { body: "pass", inputs: { score: 0 }, until: "iteration == 2" }, { registry })).outputs.iterations).toBe(2);
    await expect(runAgent("loop", { body: "pass", inputs: { score: 0 }, until: "nope > 1" }, { registry })).rejects.toThrow(/until: expression "nope > 1": unknown name "nope"/);
  });

  it("works as a step of a workflow", async () => {
    const { registry } = refineRegistry();
    registry.register(
      defineWorkflow({
        name: "improve",
        help: "",
        inputs: { start: { help: "" } },
        steps: [
          { id: "l", agent: "loop", inputs: { body: "pass", inputs: { score: "{{start}}" }, until: "score >= 1" } },
          { id: "done", agent: "noop", inputs: { value: "{{l.last.score}} after {{l.iterations}}" } },
        ],
        returns: { summary: "{{done.value}}" },
      }),
    );
    expect((await runAgent("improve", { start: 0.5 }, { registry })).outputs.summary).toBe("1 after 2");
    expect(new AgentRegistry().names()).toEqual([]);
  });
});
