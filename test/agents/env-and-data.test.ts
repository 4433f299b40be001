/**
 * Issue #15, items 13 and 14.
 *  13. An agent file must not read the caller's environment: `{{$NAME}}` reaches templates only
 *      for names the caller allows (RunOptions.allowEnv, `forge-agent --allow-env`).
 *  14. Templates yield data only: a function in a step output never passes through a template.
 */
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseCliArgs } from "../../agents/cli.js";
import { AgentRegistry, ExpressionError, StepFailedError, defineProc, defineWorkflow, loadAgentModule, runAgent } from "../../agents/index.js";

const ROOT = resolve(import.meta.dirname, "../..");
const BIN = join(ROOT, "agents/bin.mjs");
const FIXTURES = join(ROOT, "test/agents/fixtures");
const SECRET = "s3cr3t-token-value";

function forgeAgent(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, "--module", join(FIXTURES, "agents.ts"), ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const echo = defineProc({
  name: "echo",
  help: "returns its input",
  inputs: { value: { help: "anything" } },
  outputs: { value: { help: "the same" } },
  run: (i) => ({ value: i.value }),
});

function envFlow(template: string, condition?: string) {
  return defineWorkflow({
    name: "envflow",
    help: "",
    optionalInputs: { given: { help: "", default: "from input" } },
    steps: [{ id: "s", agent: "echo", inputs: { value: template }, ...(condition ? { condition } : {}) }],
    returns: { value: "{{s.value | default: 'skipped'}}" },
  });
}

describe("item 13: environment variables reach templates only when the caller allows them", () => {
  const saved = process.env.SECRET_TOKEN;
  afterEach(() => {
    if (saved === undefined) delete process.env.SECRET_TOKEN;
    else process.env.SECRET_TOKEN = saved;
  });
  const registry = new AgentRegistry([echo]);

  it("API: not allowed → a clear error before any step runs, naming the template, the variable and how to allow it", async () => {
    process.env.SECRET_TOKEN = SECRET;
    let ran = 0;
    const counting = new AgentRegistry([{ ...echo, run: (i: Record<string, unknown>) => (ran++, { value: i.value }) }]);
    for (const [template, condition] of [["{{$SECRET_TOKEN}}", undefined], ["x", "$SECRET_TOKEN == 'guess'"], ["x", "{{$SECRET_TOKEN}} != ''"]] as const) {
      const error = await runAgent(envFlow(template, condition), {}, { registry: counting }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ExpressionError);
      const message = (error as Error).message;
      expect(message).toMatch(/^workflow "envflow", step "s", (input "value"|condition): expression "[^"]*\$SECRET_TOKEN[^"]*": "\$SECRET_TOKEN" is not an input of workflow "envflow", and the environment variable SECRET_TOKEN is not allowed/);
      expect(message).toMatch(/--allow-env SECRET_TOKEN/);
      expect(message).toMatch(/allowEnv: \["SECRET_TOKEN"\]/);
      expect(message).not.toContain(SECRET);
    }
    expect(ran).toBe(0);
    // The same in a workflow output.
    const out = defineWorkflow({ name: "o", help: "", steps: [{ id: "s", agent: "echo", inputs: { value: 1 } }], returns: { t: "{{$SECRET_TOKEN}}" } });
    await expect(runAgent(out, {}, { registry })).rejects.toThrow(/^workflow "o", output "t": expression "\{\{\$SECRET_TOKEN\}\}": .*not allowed/);
  });

  it("API: allowEnv and env hand variables over; workflow inputs stay readable as $name", async () => {
    process.env.SECRET_TOKEN = SECRET;
    expect((await runAgent(envFlow("{{$SECRET_TOKEN}}"), {}, { registry, allowEnv: ["SECRET_TOKEN"] })).outputs).toEqual({ value: SECRET });
    expect((await runAgent(envFlow("{{$SECRET_TOKEN}}"), {}, { registry, env: { SECRET_TOKEN: "explicit" } })).outputs).toEqual({ value: "explicit" });
    expect((await runAgent(envFlow("{{$given}}"), {}, { registry })).outputs).toEqual({ value: "from input" });
    // Allowed but not set: missing, so `default` applies.
    delete process.env.SECRET_TOKEN;
    expect((await runAgent(envFlow("{{$SECRET_TOKEN | default: 'none'}}"), {}, { registry, allowEnv: ["SECRET_TOKEN"] })).outputs).toEqual({ value: "none" });
  });

  it("CLI: an agent file cannot print a secret from the environment; --allow-env lets it, and is documented", () => {
    const leak = forgeAgent(["--module", join(FIXTURES, "leak.toml"), "leak"], { SECRET_TOKEN: SECRET });
    expect(leak.stdout + leak.stderr).not.toContain(SECRET);
    expect(leak.code).toBe(1);
    expect(leak.stderr).toMatch(/^forge-agent: workflow "leak", step "say", input "text": expression "token \{\{\$SECRET_TOKEN\}\}": .*not allowed.*--allow-env SECRET_TOKEN/);
    expect(leak.stderr.trim().split("\n")).toHaveLength(1);
    expect(leak.stderr).not.toMatch(/\n\s+at /);

    const allowed = forgeAgent(["--module", join(FIXTURES, "leak.toml"), "leak", "--allow-env", "SECRET_TOKEN"], { SECRET_TOKEN: SECRET });
    expect(allowed.code).toBe(0);
    expect(JSON.parse(allowed.stdout)).toEqual({ words: ["token", SECRET] });

    expect(forgeAgent(["--help"]).stdout).toMatch(/--allow-env NAME\[,NAME\]\s+let templates read these environment variables/);
    const bad = forgeAgent(["leak", "--allow-env", "NOT-A-NAME"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^forge-agent: --allow-env takes environment variable names separated by commas/);
  });

  it("CLI: --allow-env takes a comma list and repeats", () => {
    expect(parseCliArgs(["a", "--allow-env", "A,B", "--allow-env=C"]).allowEnv).toEqual(["A", "B", "C"]);
  });
});

describe("item 14: templates yield data only", () => {
  const host = () => "host function called";
  const hands = defineProc({
    name: "hands",
    help: "returns a function among its outputs",
    outputs: { fn: { help: "" }, nested: { help: "" }, ok: { help: "" } },
    run: () => ({ fn: host, nested: { list: [1, host] }, ok: 7 }),
  });
  const received: unknown[] = [];
  const take = defineProc({
    name: "take",
    help: "records what it was given",
    inputs: { value: { help: "" } },
    outputs: { got: { help: "" } },
    run: (i) => (received.push(i.value), { got: typeof i.value }),
  });
  const registry = new AgentRegistry([hands, take]);
  const flow = (value: string, returns: Record<string, string> = {}) =>
    defineWorkflow({
      name: "fnflow",
      help: "",
      steps: [
        { id: "h", agent: "hands" },
        { id: "t", agent: "take", inputs: { value } },
      ],
      returns,
    });

  it("refuses a function reached by name or member, and one nested in a value, naming where", async () => {
    const cases: Array<[string, RegExp]> = [
      ["{{h.fn}}", /expression "h\.fn": "h\.fn" is a function: templates yield data only/],
      ["{{h.nested}}", /expression "h\.nested": "h\.nested\.list\[1\]" is a function: templates yield data only/],
      ["{{h}}", /"h\.fn" is a function: templates yield data only/],
      ["{{h.nested.list[1]}}", /is a function: templates yield data only/],
      ["call {{h.fn}}", /"h\.fn" is a function: templates yield data only/],
      ["{{h.fn | default: 1}}", /"h\.fn" is a function: templates yield data only/],
    ];
    for (const [template, message] of cases) {
      received.length = 0;
      const error = await runAgent(flow(template), {}, { registry }).catch((e: unknown) => e);
      expect(error, template).toBeInstanceOf(StepFailedError);
      expect((error as Error).message, template).toMatch(/workflow "fnflow", step "t", input "value": /);
      expect((error as Error).message, template).toMatch(message);
      expect(received, template).toEqual([]); // the consumer never ran
    }
    await expect(runAgent(flow("{{h.ok}}", { f: "{{h.fn}}" }), {}, { registry })).rejects.toThrow(
      /workflow "fnflow", output "f": expression "h\.fn": "h\.fn" is a function/,
    );
  });

  it("data still flows: numbers, plain objects, text", async () => {
    received.length = 0;
    const r = await runAgent(flow("{{h.ok}}", { n: "{{h.ok}}", t: "n={{h.ok}} {{h.nested.list[0]}}" }), {}, { registry });
    expect(r.outputs).toEqual({ n: 7, t: "n=7 1" });
    expect(received).toEqual([7]);
  });
});
