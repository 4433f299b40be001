/**
 * The real engine in a notebook cell: a long `session.request` shows its progress in place
 * and stops within a second of an interrupt, reporting its partial run; the next cell runs.
 * (Small random model over the byte tokenizer, wasm backend, as in test/forge/server.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KernelClient, ofType, resultText, streamText, type Msg } from "./client.js";

const content = (m: Msg) => m.content as Record<string, any>;

const SETUP_CELL = `
await forge.initBackend("wasm");
const model = forge.DecoderModel.random(forge.smallConfig("gpt2", { vocabSize: 257, hiddenSize: 32, layers: 2, heads: 2, kvHeads: 2, intermediateSize: 64, maxPositions: 2048 }), 1);
const session = forge.makeSession(await forge.makeBackend(model, new forge.ByteTokenizer()));
const { sequences, config } = forge.parseUdpl(\`[config]
zone_tokens = ["[P]", "[A]", "[E]"]
required_tokens = ["[P]"]
sequences = ["setup", "conclusion"]
valid_tags = ["answer"]
control_token = "[J]"
escape_token = "[X]"
default_max_token_length = 48

[[setup]]
text = "[P]Hi[A]Hello[E]"
tags = [[], []]

[[conclusion]]
text = "[P]So[A]"
tags = [[], ["answer"]]
\`, { file: "tiny.toml" });
const program = forge.newProgram(sequences, {}, config);
program.run("setup");
program.run("conclusion");
program.extract("training_data", ["answer"]);
const factory = program.compile();
"ready"
`;

describe("a real session.request in a cell", () => {
  let kernel: KernelClient;
  let setup: { reply: Msg; outputs: Msg[] };
  beforeAll(async () => {
    kernel = await KernelClient.start();
    setup = await kernel.execute(SETUP_CELL, { timeoutMs: 120_000 });
    expect(content(setup.reply).status, JSON.stringify(content(setup.reply))).toBe("ok");
  }, 180_000);
  afterAll(async () => {
    await kernel?.close();
  });

  it("shows progress in place and ends with a one-line summary", async () => {
    const { reply, outputs } = await kernel.execute(
      "const small = await session.request(config, factory(), { batchSize: 4, instances: 8, seed: 1 }); small.training_data.length",
      { timeoutMs: 120_000 },
    );
    expect(content(reply).status).toBe("ok");
    expect(resultText(outputs)).toBe("8");
    const shown = ofType(outputs, "display_data")[0]!;
    const id = content(shown).transient.display_id;
    const updates = ofType(outputs, "update_display_data").filter((m) => content(m).transient.display_id === id);
    expect(updates.length).toBeGreaterThanOrEqual(1);
    // Generated and forced tokens apart once the engine reports them (forge/engine/progress.ts), else the total.
    expect(content(updates.at(-1)!).data["text/plain"]).toMatch(/^✔ 8\/8 streams · ([\d,]+ generated \+ [\d,]+ forced tokens|[\d,]+ tokens) in [\d.]+ s \([\d,]+ (generated )?tokens\/s, [\d,]+ steps\)$/);
    expect(content(shown).data["text/plain"]).toMatch(/^(▶|✔) /);
  }, 180_000);

  it("the backend's informational line is stdout, not a red stderr box", () => {
    expect(streamText(setup.outputs, "stdout")).toMatch(/^forge: tfjs backend wasm/m);
    expect(streamText(setup.outputs, "stderr")).not.toMatch(/forge: tfjs backend/);
  });

  it("library objects as the last expression are short summaries", async () => {
    const show = async (code: string) => {
      const { reply, outputs } = await kernel.execute(code, { timeoutMs: 60_000 });
      expect(content(reply).status, JSON.stringify(content(reply))).toBe("ok");
      return resultText(outputs)!;
    };
    expect(await show("program")).toBe('Program: run("setup") → run("conclusion") · extracts training_data [answer]');
    expect(await show("factory")).toMatch(/^WorkflowFactory: \d+ zones, no arguments/);
    expect(await show("session")).toMatch(/^Session \(in this process\): /);
    const result = await show("small");
    expect(result.split("\n")[0]).toBe("Result of 8 streams: training_data (8 texts)");
    expect(result).toMatch(/result\.run: Run [0-9a-f]{8}: 8 streams \(\d+ \w+/);
    expect(result.length).toBeLessThan(600);
    const run = await show("small.run");
    expect(run).toMatch(/^Run [0-9a-f]{8}: 8 streams .* generated \+ [\d,]+ forced tokens · [\d,]+ steps in [\d.]+ s · .* on wasm · extractions: training_data \(8 texts\)\n/);
    expect(await show("session.server")).not.toMatch(/\[Function|Int32Array/);
  }, 180_000);

  it("draws a chart of the run in a cell: viz (vega inside) loaded by the kernel's ESM import", async () => {
    const chart = await kernel.execute("viz.tokenBudgetChart(small.run)", { timeoutMs: 120_000 });
    expect(content(chart.reply).status, JSON.stringify(content(chart.reply))).toBe("ok");
    const result = content(ofType(chart.outputs, "execute_result")[0]!);
    expect(result.data["application/vnd.vegalite.v5+json"]).toMatchObject({ $schema: expect.stringContaining("vega-lite") });
    const svg = await kernel.execute("(await viz.renderSvg(viz.tokenBudgetChart(small.run))).slice(0, 4)", { timeoutMs: 120_000 });
    expect(resultText(svg.outputs)).toBe("'<svg'");
    const shown = await kernel.execute("display.vegalite(viz.tokenBudgetChart(small.run))", { timeoutMs: 120_000 });
    const data = content(ofType(shown.outputs, "display_data")[0]!).data;
    expect(data["image/svg+xml"]).toMatch(/^<svg/);
    expect(data["application/vnd.vegalite.v5+json"]).toBeDefined();
  }, 180_000);

  it("stops within a second of interrupt_request, with the partial run, and the next cell runs", async () => {
    const id = kernel.send("shell", "execute_request", {
      code: "const big = await session.request(config, factory(), { batchSize: 8, instances: 2000, seed: 2 }); ({ interrupted: big.run.meta.interrupted, streams: big.run.streams.length })",
      silent: false,
      store_history: true,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: false,
    });
    await kernel.waitForOutput(id, (m) => m.header.msg_type === "update_display_data", 120_000);
    const sentAt = performance.now();
    kernel.send("control", "interrupt_request", {});
    const reply = await kernel.reply(id, 60_000);
    expect(performance.now() - sentAt).toBeLessThan(1000);
    expect(content(reply).ename).toBe("Interrupted");
    const outputs = await kernel.outputs(id);
    expect(resultText(outputs)).toMatch(/interrupted: true/);
    expect(resultText((await kernel.execute("6 * 7")).outputs)).toBe("42");
  }, 180_000);

  it("stops within a second of SIGINT as well", async () => {
    const id = kernel.send("shell", "execute_request", {
      code: "const again = await session.request(config, factory(), { batchSize: 8, instances: 2000, seed: 3 }); again.run.meta.interrupted",
      stop_on_error: false,
    });
    await kernel.waitForOutput(id, (m) => m.header.msg_type === "update_display_data", 120_000);
    const sentAt = performance.now();
    kernel.process.kill("SIGINT");
    const reply = await kernel.reply(id, 60_000);
    expect(performance.now() - sentAt).toBeLessThan(1000);
    expect(content(reply).ename).toBe("Interrupted");
    expect(resultText(await kernel.outputs(id))).toBe("true");
  }, 180_000);
});
