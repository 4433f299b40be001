import { describe, expect, it } from "vitest";
import { freshStepId, unwiredInputs, unwiredSteps, upstreamSteps, wiringOptions } from "../../../studio/logic/resolution.js";
import { catalogOf, type AgentDoc, type AgentInfo } from "../../../studio/logic/types.js";

const catalog = catalogOf([
  { name: "greet", kind: "template", help: "", inputs: [{ name: "name", help: "who" }], optionalInputs: [], outputs: [{ name: "text", help: "the text" }] },
  { name: "pair", kind: "template", help: "", inputs: [{ name: "a", help: "" }, { name: "b", help: "" }], optionalInputs: [{ name: "sep", help: "" }], outputs: [{ name: "text", help: "" }] },
] satisfies AgentInfo[]);

const doc: AgentDoc = {
  name: "w",
  inputs: { who: { help: "a person" } },
  steps: [
    { id: "g", agent: "greet", inputs: { name: "{{who}}" } },
    { id: "h", agent: "greet" },
    { id: "p", agent: "pair", inputs: { a: "{{g.text}}", b: "" } },
  ],
};

describe("input resolution", () => {
  it("finds required inputs that are not wired (absent or empty), never optional ones", () => {
    expect(unwiredInputs(doc.steps![0]!, catalog)).toEqual([]);
    expect(unwiredInputs(doc.steps![2]!, catalog)).toEqual(["b"]);
    expect([...unwiredSteps(doc, catalog)]).toEqual([["h", ["name"]], ["p", ["b"]]]);
    expect(unwiredInputs({ id: "x", agent: "unknown" }, catalog)).toEqual([]);
  });

  it("offers workflow inputs, earlier steps' outputs grouped by step, and only the allowed env variables", () => {
    const groups = wiringOptions(doc, 2, catalog, ["HOME_DIR"]);
    expect(groups.map((g) => g.label)).toEqual(["workflow inputs", "step g", "step h", "environment"]);
    expect(groups[0]!.options[0]).toEqual({ value: "{{who}}", label: "⇥ who", help: "a person" });
    expect(groups[1]!.options.map((o) => o.value)).toEqual(["{{g.text}}", "{{g}}"]);
    expect(groups[3]!.options.map((o) => o.value)).toEqual(["{{$HOME_DIR}}"]);
    expect(wiringOptions(doc, 0, catalog, []).map((g) => g.kind)).toEqual(["workflow-input"]);
  });

  it("with dependsOn, offers only upstream steps", () => {
    const d: AgentDoc = {
      name: "d",
      steps: [
        { id: "a", agent: "greet", dependsOn: [] },
        { id: "b", agent: "greet", dependsOn: [] },
        { id: "c", agent: "greet", dependsOn: ["b"] },
        { id: "e", agent: "greet", dependsOn: ["c"] },
      ],
    };
    expect(upstreamSteps(d, 3).map((s) => s.id)).toEqual(["b", "c"]);
  });

  it("makes fresh step ids", () => {
    expect(freshStepId(doc, "greet")).toBe("greet");
    expect(freshStepId({ ...doc, steps: [{ id: "greet", agent: "greet" }] }, "greet")).toBe("greet_2");
    expect(freshStepId(doc, "forge.sample")).toBe("sample");
  });
});
