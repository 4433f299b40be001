/**
 * The built-ins on the real parts: forge.sample on a real engine session (random-weight
 * model), datasets.export through the datasets layer, read back by an independent reader.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pl from "nodejs-polars";
import { describe, expect, it } from "vitest";
import * as forge from "../../forge/index.js";
import { createForgeRegistry, defineWorkflow, runAgent } from "../../agents/index.js";
import { randomByteModel } from "../forge/engine/helpers.js";

const UDPL = `
[config]
zone_tokens = ["[Prompt]", "[Answer]", "[EOS]"]
required_tokens = ["[Prompt]"]
sequences = ["ask"]
valid_tags = ["answer"]
control_token = "[Jump]"
escape_token = "[Escape]"
default_max_token_length = 6

[[ask]]
text = "[Prompt] Say something. [Answer]"
tags = [[], ["answer"]]
`;

describe("forge.sample → datasets.export on the real engine", { timeout: 120_000 }, () => {
  it("samples a batch and writes its extractions as an Arrow file", async () => {
    await forge.initBackend("wasm");
    const backend = await forge.makeBackend(randomByteModel(3), new forge.ByteTokenizer());
    const { sequences, config } = forge.parseUdpl(UDPL, { file: "ask.toml" });
    const program = forge.newProgram(sequences, {}, config);
    program.run("ask");
    program.extract("answer", ["answer"]);
    const registry = createForgeRegistry(forge.makeSession(backend), { ask: program.compile() });
    const dir = mkdtempSync(join(tmpdir(), "forge-agents-"));
    const flow = defineWorkflow({
      name: "sample-and-export",
      help: "sample a batch, export it",
      steps: [
        { id: "sample", agent: "forge.sample", inputs: { program: "ask", config: {}, batchSize: 5, seed: 2 } },
        { id: "export", agent: "datasets.export", dependsOn: ["sample"], inputs: { table: "{{sample.table}}", path: join(dir, "answers.arrow") } },
      ],
      returns: { rows: "{{export.rows}}", path: "{{export.path}}" },
    });
    registry.register(flow);
    const { outputs } = await runAgent("sample-and-export", {}, { registry });
    expect(outputs.rows).toBe(5);
    const frame = pl.readIPC(readFileSync(outputs.path as string));
    expect(frame.height).toBe(5);
    expect(frame.getColumn("answer").toArray()).toHaveLength(5);
  });
});
