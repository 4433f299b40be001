/**
 * The built-ins on the real parts: forge.sample on a real engine session (random-weight
 * model), datasets.export through the datasets layer, read back by an independent reader.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from "node:fs";
import { tableFromArrays } from "apache-arrow";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pl from "nodejs-polars";
import { describe, expect, it } from "vitest";
import * as forge from "../../forge/index.js";
import { confineExports, createForgeRegistry, defineWorkflow, runAgent } from "../../agents/index.js";
import { exportTable } from "../../datasets/index.js";
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

describe("datasets.export through createForgeRegistry writes only inside its export folders (session 7)", () => {
  const table = tableFromArrays({ answer: ["a", "b"] });
  it("refuses a path outside them — by .., by an absolute path, by a link — naming the path and the folders; writes inside", async () => {
    const root = mkdtempSync(join(tmpdir(), "forge-export-root-"));
    const outside = mkdtempSync(join(tmpdir(), "forge-export-outside-"));
    symlinkSync(outside, join(root, "link"));
    const exporter = confineExports(exportTable, [root]);
    for (const path of [join(root, "..", "escaped.arrow"), join(outside, "x.arrow"), join(root, "link", "through-link.arrow")]) {
      await expect(async () => exporter(table, { path })).rejects.toThrow(/^datasets\.export: path .* is outside the folders exports may write to \(.*forge-export-root-.*\); an agent file is untrusted input/);
    }
    expect(readdirSync(outside)).toEqual([]); // nothing written there
    expect(existsSync(join(root, "..", "escaped.arrow"))).toBe(false);
    const written = await exporter(table, { path: join(root, "sub", "..", "ok.arrow") });
    expect(pl.readIPC(readFileSync(written.path)).height).toBe(2); // an independent reader
  });

  it("refuses a dangling link inside the folder to a file outside (the write would create the link's target)", async () => {
    const root = mkdtempSync(join(tmpdir(), "forge-export-root-"));
    const outside = mkdtempSync(join(tmpdir(), "forge-export-outside-"));
    symlinkSync(join(outside, "created.arrow"), join(root, "dangling.arrow")); // its target does not exist yet
    const exporter = confineExports(exportTable, [root]);
    await expect(async () => exporter(table, { path: join(root, "dangling.arrow") })).rejects.toThrow(/^datasets\.export: path .*dangling\.arrow.* is outside the folders exports may write to/);
    expect(readdirSync(outside)).toEqual([]); // nothing created there
    symlinkSync(join(root, "loop-b"), join(root, "loop-a"));
    symlinkSync(join(root, "loop-a"), join(root, "loop-b"));
    await expect(async () => exporter(table, { path: join(root, "loop-a") })).rejects.toThrow(/^datasets\.export: path .*loop-a.* goes through more than 40 links/);
  });

  it("refuses a relative dangling link reached through a link out of the folder (its target resolved from where it really lies)", async () => {
    const root = mkdtempSync(join(tmpdir(), "forge-export-root-"));
    const outside = mkdtempSync(join(tmpdir(), "forge-export-outside-"));
    mkdirSync(join(outside, "sub"));
    symlinkSync(join(outside, "sub"), join(root, "l"));
    symlinkSync("../escaped", join(outside, "sub", "d")); // dangling: root/l/d would create outside/escaped
    const exporter = confineExports(exportTable, [root]);
    await expect(async () => exporter(table, { path: join(root, "l", "d") })).rejects.toThrow(/is outside the folders exports may write to/);
    expect(existsSync(join(outside, "escaped"))).toBe(false);
  });

  it("by default allows the working folder and the temporary folder only, as a workflow step (before: any path)", async () => {
    const registry = createForgeRegistry(forge.makeSession(await forge.makeBackend(randomByteModel(3), new forge.ByteTokenizer())));
    const step = (path: string) => runAgent("datasets.export", { table, path }, { registry });
    // A folder that does not exist outside both (before the fix the write was attempted there).
    await expect(step("/forge-no-such-folder/x.arrow")).rejects.toThrow(/datasets\.export: path "\/forge-no-such-folder\/x\.arrow" .* is outside the folders exports may write to/);
    const dir = mkdtempSync(join(tmpdir(), "forge-export-default-"));
    expect((await step(join(dir, "ok.arrow"))).outputs.rows).toBe(2);
  });
});
