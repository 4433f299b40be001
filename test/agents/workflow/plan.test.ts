import { describe, expect, it } from "vitest";
import {
  AgentRegistry,
  WorkflowValidationError,
  defineProc,
  defineWorkflow,
  runAgent,
  validateWorkflow,
} from "../../../agents/index.js";

const registry = new AgentRegistry([
  defineProc({ name: "fetch", help: "", inputs: { url: { help: "" } }, outputs: { body: { help: "" } }, run: () => ({ body: "" }) }),
  defineProc({ name: "store", help: "", inputs: { data: { help: "" } }, run: () => ({}) }),
]);

describe("validation", () => {
  it("lists every problem of a workflow at once", async () => {
    const wf = defineWorkflow({
      name: "broken",
      help: "",
      inputs: { url: { help: "" } },
      steps: [
        { id: "a", agent: "fetch", inputs: { url: "{{url}}" }, dependsOn: [] },
        { id: "b", agent: "nosuch", dependsOn: ["a"] },
        { id: "c", agent: "store", dependsOn: ["a"] }, // data not wired
        { id: "d", agent: "store", inputs: { data: "{{e.body}}" }, dependsOn: ["a"] }, // e is not upstream of d
        { id: "e", agent: "fetch", inputs: { url: "{{url}}" }, dependsOn: ["a"] },
        { id: "x", agent: "store", inputs: { data: "{{y.body}}" }, dependsOn: ["y"] },
        { id: "y", agent: "fetch", inputs: { url: "{{x.body}}" }, dependsOn: ["x"] }, // cycle x ↔ y
        { id: "z", agent: "store", inputs: { data: "{{nobody}}", extra: 1 }, dependsOn: ["ghost"] },
      ],
    });
    const problems = validateWorkflow(wf, registry);
    const codes = problems.map((p) => `${p.step}:${p.code}`).sort();
    expect(codes).toEqual(
      [
        "b:unknown-agent",
        "c:unwired-input",
        "d:not-upstream",
        ":cycle",
        "x:not-upstream",
        "y:not-upstream",
        "z:unknown-input",
        "z:unknown-step",
        "z:unknown-name",
      ].sort(),
    );
    const error = await runAgent(wf, { url: "u" }, { registry }).catch((e) => e);
    expect(error).toBeInstanceOf(WorkflowValidationError);
    expect(error.problems).toHaveLength(problems.length);
    expect(error.message).toMatch(/workflow "broken" has 9 problem\(s\)/);
    expect(error.message).toMatch(/step "d": input "data" reads step "e", which is not upstream of it/);
    expect(error.message).toMatch(/agent "nosuch" is not registered/);
    expect(error.message).toMatch(/dependency cycle among steps "x", "y"/);
  });

  it("in a workflow without dependsOn every earlier step is upstream, later ones are not", () => {
    const wf = defineWorkflow({
      name: "seq",
      help: "",
      steps: [
        { id: "a", agent: "fetch", inputs: { url: "x" } },
        { id: "b", agent: "store", inputs: { data: "{{a.body}} {{c.body}}" } },
        { id: "c", agent: "fetch", inputs: { url: "x" } },
      ],
    });
    expect(validateWorkflow(wf, registry).map((p) => p.message)).toEqual([
      'input "data" reads step "c", which is not upstream of it (add it to dependsOn)',
    ]);
  });

  it("rejects bad handlers and bad expressions", () => {
    const wf = defineWorkflow({
      name: "h",
      help: "",
      steps: [
        { id: "a", agent: "fetch", inputs: { url: "{{ 1 + }}" }, onFailure: { fallback: "missing" } },
        { id: "b", agent: "fetch", inputs: { url: "x" }, condition: "{{a.body ==}}" },
      ],
    });
    const problems = validateWorkflow(wf, registry);
    expect(problems.map((p) => p.code).sort()).toEqual(["bad-expression", "bad-expression", "bad-handler"]);
    expect(problems.find((p) => p.step === "b")!.message).toMatch(/workflow "h", step "b", condition: expression/);
  });
});

describe("graph view", () => {
  it("describes steps, wiring, handlers and unwired inputs, and renders Mermaid", async () => {
    const { workflowGraph, toMermaid } = await import("../../../agents/index.js");
    const wf = defineWorkflow({
      name: "g",
      help: "",
      inputs: { url: { help: "" } },
      steps: [
        { id: "a", agent: "fetch", inputs: { url: "{{url}}" }, onFailure: { fallback: "b" } },
        { id: "b", agent: "fetch", inputs: { url: "backup" } },
        { id: "c", agent: "store", inputs: { data: "{{a.body}}" } },
        { id: "d", agent: "store" },
      ],
    });
    const graph = workflowGraph(wf, registry);
    expect(graph.nodes.map((n) => [n.id, n.unwired, n.handler])).toEqual([
      ["a", [], false],
      ["b", [], true],
      ["c", [], false],
      ["d", ["data"], false],
    ]);
    expect(graph.edges).toEqual([
      { from: "a", to: "b", kind: "fallback" },
      { from: "a", to: "c", kind: "order" },
      { from: "a", to: "c", kind: "data", inputs: ["data"] },
      { from: "c", to: "d", kind: "order" },
    ]);
    const mermaid = toMermaid(graph);
    expect(mermaid).toMatch(/class n_d broken;/);
    expect(mermaid).toMatch(/n_a -\. "data" \.-> n_c/);
  });
});
