import { describe, expect, it } from "vitest";
import { z } from "zod";
import { AgentRegistry, agentsFromDefinition, defineProc, defineTemplate, runAgent, validateWorkflow, type WorkflowAgent } from "../../../agents/index.js";
import { StudioError } from "../../../studio/logic/errors.js";
import { extractSubWorkflow } from "../../../studio/logic/extract.js";
import type { AgentDoc } from "../../../studio/logic/types.js";

function registry(): AgentRegistry {
  return new AgentRegistry([
    defineTemplate({ name: "greet", help: "greets", inputs: { name: { help: "who" } }, template: "Hello {{name}}" }),
    defineProc({
      name: "shout",
      help: "upper-cases",
      inputs: { text: { help: "text", schema: z.string() } },
      outputs: { text: { help: "loud" } },
      run: ({ text }) => ({ text: String(text).toUpperCase() + "!" }),
    }),
    defineProc({
      name: "measure",
      help: "counts characters",
      inputs: { text: { help: "text" } },
      optionalInputs: { extra: { help: "added", default: 0 } },
      outputs: { n: { help: "length" } },
      run: ({ text, extra }) => ({ n: String(text).length + Number(extra) }),
    }),
    defineTemplate({ name: "pair", help: "joins", inputs: { a: { help: "a" }, b: { help: "b" } }, template: "[{{a}}|{{b}}]" }),
  ]);
}

const sequentialDoc: AgentDoc = {
  name: "main",
  inputs: { name: { help: "who", type: "string" }, bonus: { help: "added", type: "number" } },
  steps: [
    { id: "greet", agent: "greet", inputs: { name: "{{name}}" } },
    { id: "shout", agent: "shout", inputs: { text: "{{greet.text}}" } },
    { id: "measure", agent: "measure", inputs: { text: "{{shout.text}}", extra: "{{$bonus}}" }, condition: "{{greet.text}} != ''" },
    { id: "pair", agent: "pair", inputs: { a: "{{measure.n}}", b: "{{ shout.text | lower }}" }, condition: "measure.n > 0" },
  ],
  returns: { out: "{{pair.text}}", loud: "{{shout.text}}" },
};

async function run(docs: AgentDoc[], inputs: Record<string, unknown>) {
  const reg = registry();
  const agents = docs.flatMap((d) => agentsFromDefinition(d, d.name));
  for (const a of agents) reg.register(a);
  for (const a of agents) if (a.kind === "workflow") expect(validateWorkflow(a as WorkflowAgent, reg)).toEqual([]);
  return (await runAgent(docs[0]!.name, inputs, { registry: reg })).outputs;
}

describe("extractSubWorkflow", () => {
  it("derives the interface by dependency analysis and the parent gives the same outputs (sequential workflow)", async () => {
    const before = await run([sequentialDoc], { name: "Ada", bonus: 2 });
    expect(before).toEqual({ out: "[12|hello ada!]", loud: "HELLO ADA!" });

    const r = extractSubWorkflow(sequentialDoc, ["shout", "measure"], "loudness");
    expect(r.inputs.sort()).toEqual(["bonus", "greet"]);
    expect(r.outputs).toEqual(["shout", "measure"]);
    expect(r.parent.steps!.map((s) => s.id)).toEqual(["greet", "loudness", "pair"]);
    expect(r.parent.steps![1]).toEqual({ id: "loudness", agent: "loudness", inputs: { greet: "{{greet}}", bonus: "{{bonus}}" } });
    expect(r.parent.steps![2]!.inputs).toEqual({ a: "{{loudness.measure.n}}", b: "{{ loudness.shout.text | lower }}" });
    expect(r.parent.steps![2]!.condition).toBe("loudness.measure.n > 0");
    expect(r.parent.returns).toEqual({ out: "{{pair.text}}", loud: "{{loudness.shout.text}}" });
    // The moved steps are unchanged inside the new agent.
    expect(r.child.steps).toEqual(sequentialDoc.steps!.slice(1, 3));

    const after = await run([r.parent, r.child], { name: "Ada", bonus: 2 });
    expect(after).toEqual(before);
  });

  it("keeps dependsOn semantics: the new step waits for what the selection waited for, and dependents wait for it", async () => {
    const doc: AgentDoc = {
      name: "fan",
      inputs: { name: { type: "string" } },
      steps: [
        { id: "a", agent: "greet", inputs: { name: "{{name}}" }, dependsOn: [] },
        { id: "b", agent: "shout", inputs: { text: "{{a.text}}" }, dependsOn: ["a"] },
        { id: "c", agent: "measure", inputs: { text: "{{b.text}}" }, dependsOn: ["b"] },
        { id: "d", agent: "greet", inputs: { name: "x" }, dependsOn: [] },
        { id: "e", agent: "pair", inputs: { a: "{{c.n}}", b: "{{d.text}}" }, dependsOn: ["c", "d"] },
      ],
      returns: { out: "{{e.text}}" },
    };
    const before = await run([doc], { name: "Bo" });
    const r = extractSubWorkflow(doc, ["b", "c"], "mid");
    expect(r.parent.steps!.find((s) => s.id === "mid")!.dependsOn).toEqual(["a"]);
    expect(r.parent.steps!.find((s) => s.id === "e")!.dependsOn).toEqual(["mid", "d"]);
    expect(r.outputs).toEqual(["c"]);
    expect(await run([r.parent, r.child], { name: "Bo" })).toEqual(before);
  });

  it("refuses selections that would change what runs", () => {
    expect(() => extractSubWorkflow(sequentialDoc, ["greet", "measure"], "x")).toThrow(StudioError);
    expect(() => extractSubWorkflow(sequentialDoc, ["greet", "measure"], "x")).toThrow(/consecutive/);
    expect(() => extractSubWorkflow(sequentialDoc, ["nope"], "x")).toThrow(/no step "nope"/);
    expect(() => extractSubWorkflow(sequentialDoc, ["shout"], "greet")).toThrow(/already exists/);
    expect(() => extractSubWorkflow(sequentialDoc, ["shout"], "bad name!")).toThrow(/not a name/);
    const handler: AgentDoc = {
      name: "h",
      steps: [
        { id: "a", agent: "greet", inputs: { name: "x" }, onFailure: { fallback: "b" } },
        { id: "b", agent: "greet", inputs: { name: "y" } },
      ],
    };
    expect(() => extractSubWorkflow(handler, ["a"], "x")).toThrow(/extracted together/);
    const loop: AgentDoc = {
      name: "l",
      steps: [
        { id: "a", agent: "greet", inputs: { name: "x" }, dependsOn: [] },
        { id: "b", agent: "greet", inputs: { name: "{{a.text}}" }, dependsOn: ["a"] },
        { id: "c", agent: "greet", inputs: { name: "{{b.text}}" }, dependsOn: ["b"] },
      ],
    };
    expect(() => extractSubWorkflow(loop, ["a", "c"], "x")).toThrow(/through "b"/);
  });
});
