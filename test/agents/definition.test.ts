import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { AgentRegistry, agentsFromDefinition, loadAgentFile, loadAgentModule, runAgent } from "../../agents/index.js";

const FIXTURES = resolve(import.meta.dirname, "fixtures");

describe("agents defined in TOML / JSON", () => {
  it("loads a TOML workflow next to TypeScript agents and runs it", async () => {
    const registry = new AgentRegistry();
    await loadAgentModule(registry, join(FIXTURES, "agents.ts"));
    await loadAgentModule(registry, join(FIXTURES, "shout-flow.toml"));
    expect(registry.require("shout_flow").optionalInputs.separator!.default).toBe("-");
    expect((await runAgent("shout_flow", { text: "a b c" }, { registry })).outputs).toEqual({ text: "A-B-C!", count: 3 });
    expect((await runAgent("shout_flow", { text: "  " }, { registry })).outputs).toEqual({ text: "", count: 0 });
  });

  it("names the file, the field and the step of every mistake", () => {
    const bad = {
      name: "w",
      steps: [
        { id: "ok", agent: "a" },
        { id: "fetch", agent: "b", retry: { maxRetries: "three" }, onFailre: "skip" },
      ],
    };
    expect(() => agentsFromDefinition(bad, "flow.json")).toThrow(
      /flow\.json: invalid agent definition:\n {2}steps\[1\]\.retry\.maxRetries \(step "fetch"\): .*number[\s\S]*steps\[1\] \(step "fetch"\): .*onFailre/,
    );
    expect(() => agentsFromDefinition({ name: "t", kind: "template", template: "{{x}}" }, "t.toml")).toThrow(
      /t\.toml: template agent "t": the template reads undeclared input\(s\) x/,
    );
    // An inherited name is not a declared input (session 7: it passed the definition and failed only when run).
    expect(() => agentsFromDefinition({ name: "t", kind: "template", template: "{{constructor}} {{toString}}" }, "t.toml")).toThrow(
      /t\.toml: template agent "t": the template reads undeclared input\(s\) constructor, toString/,
    );
    const dir = mkdtempSync(join(tmpdir(), "forge-def-"));
    writeFileSync(join(dir, "broken.toml"), 'name = "x"\nsteps = [\n');
    expect(() => loadAgentFile(join(dir, "broken.toml"))).toThrow(/broken\.toml: not valid TOML: [\s\S]*2: {2}steps = \[/); // line excerpt
  });
});
