/**
 * What a notebook user sees, through a real zeromq client (test/kernel/client.ts): the first
 * cell's "Loading the workbench…" while the kernel starts, SFCS mistakes reported at the call
 * that makes them, a Program as a one-line summary, display handles that print nothing,
 * `exit`, Vega-Lite 6 specs sent as the v5 MIME type carries them, and the library's
 * informational stderr lines shown as stdout.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KernelClient, ofType, resultText, streamText, type Msg } from "./client.js";

const content = (m: Msg) => m.content as Record<string, any>;

const TOML = `[config]
zone_tokens = ["[P]", "[A]"]
sequences = ["setup", "ask"]
valid_tags = ["answer"]
control_token = "[J]"

[[setup]]
text = "[P]Hi[A]"

[[ask]]
text = "[P]{x} and {y}[A]"
[ask.x]
name = "a"
type = "argument"
[ask.y]
name = "b"
type = "argument"
`;

describe("what a notebook user sees", () => {
  let kernel: KernelClient;
  let first: { reply: Msg; outputs: Msg[] };
  /** From sending the first cell to its first output (the notice). */
  let noticeAfterMs = Infinity;
  beforeAll(async () => {
    kernel = await KernelClient.start();
    // Sent as soon as kernel_info is answered, as Lab does when a user runs the first cell at once.
    const sentAt = performance.now();
    const onOutput = (m: Msg) => {
      if (m.header.msg_type === "display_data" && noticeAfterMs === Infinity) noticeAfterMs = performance.now() - sentAt;
    };
    kernel.events.on("iopub", onOutput);
    first = await kernel.execute("1 + 1", { timeoutMs: 150_000 });
    kernel.events.off("iopub", onOutput);
  }, 180_000);
  afterAll(async () => {
    await kernel?.close();
  });

  it("the first cell says the workbench is loading while it waits, then clears that and shows its result", () => {
    expect(content(first.reply).status).toBe("ok");
    const loading = ofType(first.outputs, "display_data")[0];
    expect(loading, "no loading notice in the first cell").toBeDefined();
    expect(content(loading!).data["text/plain"]).toMatch(/^Loading the workbench \(forge, viz, datasets and the type checker\)…/);
    const types = first.outputs.map((m) => m.header.msg_type);
    // The notice, then clear_output (so a saved notebook keeps none of it), then the result.
    expect(types.indexOf("display_data")).toBeLessThan(types.indexOf("clear_output"));
    expect(types.indexOf("clear_output")).toBeLessThan(types.indexOf("execute_result"));
    expect(content(ofType(first.outputs, "clear_output")[0]!).wait).toBe(false);
    expect(resultText(first.outputs)).toBe("2");
    // Said by the supervisor, whose thread is free: at once, not when the cell process's imports let go.
    expect(noticeAfterMs).toBeLessThan(1500);
    // Busy first and once, idle last, as clients (jupyter_kernel_test's execute_helper) expect.
    expect(first.outputs[0]!.header.msg_type).toBe("status");
    expect(ofType(first.outputs, "status").map((m) => content(m).execution_state)).toEqual(["busy", "idle"]);
  });

  it("a later cell runs at once, without the notice", async () => {
    const { outputs } = await kernel.execute("2 + 2");
    expect(ofType(outputs, "display_data")).toHaveLength(0);
    expect(ofType(outputs, "clear_output")).toHaveLength(0);
    expect(resultText(outputs)).toBe("4");
  });

  it("an unknown sequence fails at program.run, naming the call; the Program shows as a one-line summary", async () => {
    const setup = await kernel.execute(`const doc = forge.parseUdpl(${JSON.stringify(TOML)}, { file: "view.toml" });
const program = forge.newProgram(doc.sequences, {}, doc.config, { name: "demo" });
program.run("setup");
program`);
    expect(content(setup.reply).status, JSON.stringify(content(setup.reply))).toBe("ok");
    const shown = resultText(setup.outputs)!;
    expect(shown).toBe('Program "demo": run("setup")');
    const wrong = await kernel.execute('program.run("nonexistent")', { stop_on_error: false });
    expect(content(wrong.reply).status).toBe("error");
    expect(content(wrong.reply).ename).toBe("SfcsError");
    expect(content(wrong.reply).evalue).toMatch(/^program\.run\("nonexistent"\) at \S+:\d+:\d+: unknown sequence "nonexistent"; known sequences: setup, ask/);
    expect(ofType(wrong.outputs, "execute_result")).toHaveLength(0);
    // No dump of the program's internals anywhere in what the user sees.
    const everything = JSON.stringify(wrong.outputs.map((m) => m.content));
    expect(everything).not.toMatch(/zoneTokens|programResources/);
    expect(everything.length).toBeLessThan(4000);
  });

  it("a value for an argument placeholder given to run names the factory call instead", async () => {
    const wrong = await kernel.execute('program.run("ask", { a: 1, b: 2 })', { stop_on_error: false });
    expect(content(wrong.reply).evalue).toContain("a, b are factory arguments");
    expect(content(wrong.reply).evalue).toContain("factory({ a, b })");
    expect(content(wrong.reply).evalue).not.toContain("fills no custom placeholder");
  });

  it("display.* shows its output and, as the last expression, prints no handle", async () => {
    const { reply, outputs } = await kernel.execute('display.markdown("**hello**")');
    expect(content(reply).status).toBe("ok");
    expect(ofType(outputs, "display_data").map((m) => content(m).data["text/markdown"])).toEqual(["**hello**"]);
    expect(ofType(outputs, "execute_result")).toHaveLength(0);
    const logged = await kernel.execute('const h = display.html("<b>x</b>"); console.log(String(h).startsWith("DisplayHandle ")); h.displayId.length > 0');
    expect(streamText(logged.outputs, "stdout")).toBe("true\n");
    expect(resultText(logged.outputs)).toBe("true");
    expect(JSON.stringify(logged.outputs.map((m) => m.content))).not.toContain("[Function]");
  });

  it("a Vega-Lite 6 spec goes under the v5 MIME type declaring v5, with the SVG drawn from it", async () => {
    const { reply, outputs } = await kernel.execute(
      `display.vegalite({ $schema: "https://vega.github.io/schema/vega-lite/v6.json", title: "six", data: { values: [{ a: 1 }, { a: 3 }] }, mark: "bar", encoding: { x: { field: "a", type: "quantitative" } } })`,
      { timeoutMs: 60_000 },
    );
    expect(content(reply).status).toBe("ok");
    const data = content(ofType(outputs, "display_data")[0]!).data;
    expect(Object.keys(data).filter((k) => k.startsWith("application/vnd.vegalite"))).toEqual(["application/vnd.vegalite.v5+json"]);
    expect(data["application/vnd.vegalite.v5+json"]).toMatchObject({ $schema: "https://vega.github.io/schema/vega-lite/v5.json", mark: "bar", title: "six" });
    expect(data["image/svg+xml"]).toMatch(/^<svg/);
    expect(data["text/plain"]).toBe("Vega-Lite chart: six");
  });

  it("the library's informational stderr lines show as stdout; other stderr stays stderr", async () => {
    const { outputs } = await kernel.execute('process.stderr.write("forge: tfjs backend wasm\\n"); process.stderr.write("forge: engine onnx could not start (x); using tfjs\\n"); console.error("real problem")');
    expect(streamText(outputs, "stdout")).toBe("forge: tfjs backend wasm\n");
    expect(streamText(outputs, "stderr")).toBe("forge: engine onnx could not start (x); using tfjs\nreal problem\n");
  });

  it("TOML pasted into backticks, where \\\" became a bare quote: the hint suggests a literal string or String.raw", async () => {
    const cell = 'forge.parseUdpl(`[config]\nzone_tokens = ["[P]", "[A]"]\nsequences = ["s"]\ncontrol_token = "[Jump]"\n[[s]]\ntext = "[P] emit [Escape] \\"[Jump]\\" [A]"\n`)';
    const { reply } = await kernel.execute(cell, { stop_on_error: false });
    expect(content(reply).status).toBe("error");
    expect(content(reply).evalue).toMatch(/:6:\d+: TOML syntax error/);
    expect(content(reply).evalue).toContain("TOML literal string '…'");
    expect(content(reply).evalue).toContain("String.raw");
    expect(content(reply).evalue).not.toContain("one key = value per line");
    // What the hint suggests parses.
    const fixed = await kernel.execute("forge.parseUdpl(String.raw`[config]\nzone_tokens = [\"[P]\", \"[A]\"]\nsequences = [\"s\"]\ncontrol_token = \"[Jump]\"\n[[s]]\ntext = '[P] emit [Escape] \"[Jump]\" [A]'\n`).sequences.s.zones.length");
    expect(content(fixed.reply).status, JSON.stringify(content(fixed.reply))).toBe("ok");
  });

  it("exit as a cell asks the front-end to close (jupyter console's ask_exit payload); the kernel stays", async () => {
    const { reply, outputs } = await kernel.execute("exit");
    expect(content(reply).status).toBe("ok");
    expect(content(reply).payload).toEqual([{ source: "ask_exit", keepkernel: false }]);
    expect(ofType(outputs, "error")).toHaveLength(0);
    expect(content((await kernel.execute("quit()")).reply).payload).toEqual([{ source: "ask_exit", keepkernel: false }]);
    // Only the whole cell: a variable called exit is still a variable.
    expect(resultText((await kernel.execute("const exitCode = 3; exitCode")).outputs)).toBe("3");
  });
});

describe("a silent request while the kernel starts", () => {
  it("shows no loading notice (a front-end extension's request is not a cell)", async () => {
    const kernel = await KernelClient.start();
    try {
      const { reply, outputs } = await kernel.execute("1 + 1", { silent: true, timeoutMs: 150_000 });
      expect(content(reply).status).toBe("ok");
      expect(outputs.filter((m) => ["display_data", "update_display_data", "clear_output", "execute_result", "stream"].includes(m.header.msg_type))).toEqual([]);
    } finally {
      await kernel.close();
    }
  }, 180_000);
});
