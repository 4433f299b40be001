import { describe, expect, it } from "vitest";
import { loadAgentFile } from "../../../agents/index.js";
import { parseAgentText, sameData, serializeAgentData } from "../../../studio/logic/roundtrip.js";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const HAND_WRITTEN = `# A workflow written by hand: comments, odd spacing and key order must survive a save.
name    = "summarise"
help = "Split, then shout"

[inputs.text]
type = "string"     # the text
help = "the text"

[[steps]]
id = "hello"
agent = "greet"
inputs = { name = "{{text}}" }

[returns]
out = "{{hello.text}}"
`;

describe("agent file round trip", () => {
  it("writes an unchanged document back byte for byte", () => {
    const data = parseAgentText(HAND_WRITTEN, "toml", "f.toml");
    const copy = JSON.parse(JSON.stringify(data)); // what the browser sends back
    expect(serializeAgentData(copy, "toml", HAND_WRITTEN)).toBe(HAND_WRITTEN);
    const json = JSON.stringify(data, null, 4);
    expect(serializeAgentData(JSON.parse(json), "json", json)).toBe(json);
  });

  it("writes a changed document that the agents' loader reads back as edited", () => {
    const data = parseAgentText(HAND_WRITTEN, "toml", "f.toml") as { steps: Array<{ inputs: Record<string, string> }> };
    data.steps[0]!.inputs.name = "{{text}}!";
    const text = serializeAgentData(data, "toml", HAND_WRITTEN);
    expect(text).not.toBe(HAND_WRITTEN);
    expect(sameData(parseAgentText(text, "toml", "f.toml"), data)).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), "studio-rt-"));
    writeFileSync(join(dir, "greet.toml"), 'kind = "template"\nname = "greet"\ntemplate = "hi {{name}}"\n[inputs.name]\nhelp = "x"\n');
    writeFileSync(join(dir, "f.toml"), text);
    const [agent] = loadAgentFile(join(dir, "f.toml"));
    expect(agent!.kind === "workflow" && agent.steps[0]!.inputs).toEqual({ name: "{{text}}!" });
  });

  it("names the file in a parse error", () => {
    expect(() => parseAgentText("name = ", "toml", "bad.toml")).toThrow(/bad\.toml: not valid TOML/);
  });
});
