/**
 * Cells as a JupyterLab user runs them, through a real kernel and zeromq client
 * (test/kernel/client.ts), started — as Jupyter starts it for a notebook — in a folder outside
 * the repository: cells are checked by the project's TypeScript with lib es2023, every error
 * names the cell and the line and column typed, a Forge error shows no library frames, and
 * tslab notebooks' `import * as tslab from "tslab"` works.
 */
import { realpathSync } from "node:fs";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../../kernel/cells/index.js";
import { KernelClient, ofType, resultText, type Msg } from "../client.js";

const content = (m: Msg) => m.content as Record<string, any>;
const traceback = (outputs: Msg[]) => (content(ofType(outputs, "error")[0]!).traceback as string[]).join("\n");

describe("cells in a kernel started outside the repository", () => {
  let kernel: KernelClient;
  beforeAll(async () => {
    kernel = await KernelClient.start();
    // The first cell waits for the kernel's start: room for a loaded machine.
    const first = await kernel.execute("1 + 1", { timeoutMs: 240_000 });
    expect(content(first.reply).status).toBe("ok");
  }, 300_000);
  afterAll(async () => {
    await kernel?.close();
  });

  /** The execution count a cell got (its name in traces: `<cell-<count>>`). */
  const countOf = (reply: Msg) => content(reply).execution_count as number;

  it("runs in a folder outside the repository", async () => {
    const { reply, outputs } = await kernel.execute("process.cwd()");
    expect(content(reply).status).toBe("ok");
    const cwd = realpathSync(JSON.parse(resultText(outputs)!.replace(/^'|'$/g, '"')) as string);
    expect(relative(realpathSync(REPO_ROOT), cwd).startsWith("..")).toBe(true);
  });

  it("type-checks with lib es2023: toSorted, findLast and NoInfer run", async () => {
    const { reply, outputs } = await kernel.execute(
      [
        "function pick<T>(options: T[], fallback: NoInfer<T>): T { return options.findLast((o) => o !== fallback) ?? fallback }",
        "[[3, 1, 2].toSorted(), [1, 2, 3].findLast((n) => n < 3), pick(['a', 'b'], 'a')]",
      ].join("\n"),
    );
    expect(content(reply)).toMatchObject({ status: "ok" });
    expect(resultText(outputs)).toBe("[ [ 1, 2, 3 ], 2, 'b' ]");
    // NoInfer is checked: the fallback does not widen T.
    const bad = await kernel.execute("function only<T extends string>(options: T[], fallback: NoInfer<T>): T { return fallback }\nonly(['a', 'b'], 'c')");
    expect(content(bad.reply).ename).toBe("TypeScriptError");
    expect(content(bad.reply).evalue).toMatch(new RegExp(`<cell-${countOf(bad.reply)}>:2:18: Argument of type '"c"' is not assignable`));
  });

  it("names the cell and the line and column typed for a throw, in every frame", async () => {
    const thrown = await kernel.execute('const a = 1; throw new Error("boom")');
    expect(content(thrown.reply)).toMatchObject({ status: "error", ename: "Error", evalue: "boom" });
    expect(traceback(thrown.outputs)).toContain(`<cell-${countOf(thrown.reply)}>:1:20`);
    expect(traceback(thrown.outputs)).not.toMatch(/evalmachine/);

    const defined = await kernel.execute("// a helper\nfunction inner(n: number): never {\n  throw new RangeError(`too far: ${n}`)\n}");
    const called = await kernel.execute("const before = 0;\n  inner(3)");
    expect(content(called.reply)).toMatchObject({ ename: "RangeError", evalue: "too far: 3" });
    const frames = traceback(called.outputs).split("\n").filter((l) => /^\s+at /.test(l));
    // The function's frame names the cell it was defined in; the call, the cell that called it.
    expect(frames[0]).toMatch(new RegExp(`at inner \\(<cell-${countOf(defined.reply)}>:3:9\\)`));
    expect(frames[1]).toContain(`<cell-${countOf(called.reply)}>:2:3`);
  });

  it("maps positions after an await and in a callback", async () => {
    const { reply, outputs } = await kernel.execute("await new Promise((r) => setTimeout(r, 1));\nconst xs = [1, 2];\nxs.map((x) => {\n  if (x > 1) throw new Error(`x=${x}`);\n  return x;\n})");
    expect(content(reply).evalue).toBe("x=2");
    expect(traceback(outputs)).toContain(`<cell-${countOf(reply)}>:4:20`);
  });

  it("names the cell's line in an SfcsError's call site", async () => {
    const fixture = JSON.stringify(join(REPO_ROOT, "test", "fixtures", "udpl", "seed-fixed.toml"));
    const setup = await kernel.execute(`const seed = forge.parseUdplFile(${fixture});`);
    expect(content(setup.reply).status).toBe("ok");
    const { reply, outputs } = await kernel.execute('const program = forge.newProgram(seed.sequences, {}, seed.config);\nprogram.run("ask");\nprogram.compile();');
    expect(content(reply).ename).toBe("SfcsError");
    expect(content(reply).evalue).toMatch(new RegExp(`program\\.run\\("ask"\\) at <cell-${countOf(reply)}>:2:9`));
    expect(traceback(outputs)).not.toMatch(/forge[\\/]sfcs[\\/]/);
  });

  it("shows a UdplError with the cell's frame and no library frames", async () => {
    const { reply, outputs } = await kernel.execute('const text = "[config]\\nzone_tokens = 3\\n";\nforge.parseUdpl(text, { file: "bad.toml" })');
    expect(content(reply).ename).toBe("UdplError");
    const lines = traceback(outputs);
    expect(lines).toContain(`<cell-${countOf(reply)}>:2:7`);
    expect(lines).not.toMatch(/LintContext|validateConfig|forge[\\/]udpl|node:internal|kernel[\\/]cells/);
  });

  it("runs tslab notebooks' `import * as tslab from \"tslab\"` unchanged", async () => {
    const { reply, outputs } = await kernel.execute('import * as tslab from "tslab";\ntslab.display.html("<b>from tslab</b>");\ntslab.display.png(new Uint8Array([137, 80, 78, 71]));\ntslab.versions.node');
    expect(content(reply).status).toBe("ok");
    const shown = ofType(outputs, "display_data").map((m) => content(m).data as Record<string, string>);
    expect(shown[0]!["text/html"]).toBe("<b>from tslab</b>");
    expect(shown[1]!["image/png"]).toBe(Buffer.from([137, 80, 78, 71]).toString("base64"));
    expect(resultText(outputs)).toBe(`'${process.version}'`);
    // A later cell uses the import, and newDisplay() updates its one output in place.
    const updated = await kernel.execute('const d = tslab.newDisplay();\nd.text("first");\nd.text("second");');
    expect(content(updated.reply).status).toBe("ok");
    expect(ofType(updated.outputs, "display_data").map((m) => content(m).data["text/plain"])).toEqual(["first"]);
    expect(ofType(updated.outputs, "update_display_data").map((m) => content(m).data["text/plain"])).toEqual(["second"]);
  });

  it("keeps earlier cells' names for later cells: values, reassignable lets, types, shorthand properties", async () => {
    expect(content((await kernel.execute("let counter = 1;\ninterface Point { x: number }\nconst registry = { name: 'r' };")).reply).status).toBe("ok");
    const { reply, outputs } = await kernel.execute("counter += 1;\nconst p: Point = { x: counter };\n({ p, registry, counter })");
    expect(content(reply).status).toBe("ok");
    expect(resultText(outputs)).toBe("{ p: { x: 2 }, registry: { name: 'r' }, counter: 2 }");
    // A later cell's declaration shadows the earlier one, with its own type.
    const again = await kernel.execute("const counter = 'text';\ncounter.toUpperCase()");
    expect(resultText(again.outputs)).toBe("'TEXT'");
  });

  it("completes and inspects earlier cells' names", async () => {
    expect(content((await kernel.execute("const earlierValue = [1, 2, 3];")).reply).status).toBe("ok");
    const code = "earlierV";
    const complete = await kernel.reply(kernel.send("shell", "complete_request", { code, cursor_pos: code.length }));
    expect(content(complete).matches).toContain("earlierValue");
    expect(content(complete).cursor_start).toBe(0);
    const members = "earlierValue.toSo";
    const memberComplete = await kernel.reply(kernel.send("shell", "complete_request", { code: members, cursor_pos: members.length }));
    expect(content(memberComplete).matches).toContain("toSorted");
    const inspect = await kernel.reply(kernel.send("shell", "inspect_request", { code: "earlierValue", cursor_pos: 3, detail_level: 0 }));
    expect(content(inspect).data["text/plain"]).toContain("const earlierValue: number[]");
  });
});
