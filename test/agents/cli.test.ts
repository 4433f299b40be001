import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parseCliArgs, buildInputs, agentHelp, MAX_STDIN_BYTES } from "../../agents/cli.js";
import { AgentRegistry, loadAgentModule } from "../../agents/index.js";

const ROOT = resolve(import.meta.dirname, "../..");
/** The shipped executable (package.json bin); it registers tsx itself. */
const BIN = join(ROOT, "agents/bin.mjs");
const MODULE = join(ROOT, "test/agents/fixtures/agents.ts");

function forgeAgent(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [BIN, "--module", MODULE, ...args], { cwd: ROOT, encoding: "utf8", input });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("forge-agent CLI (in process)", () => {
  it("parses options and agent flags", () => {
    const o = parseCliArgs(["notify", "--message", "hi", "--times=3", "--dry-run", "--tape", "t.sqlite", "--flag"]);
    expect(o).toMatchObject({ agent: "notify", dryRun: true, tape: "t.sqlite", flags: [["message", "hi"], ["times", "3"], ["flag", true]] });
    expect(() => parseCliArgs(["a", "b"])).toThrow(/unexpected argument "b"/);
    expect(() => parseCliArgs(["a", "--tape"])).toThrow(/--tape needs a value/);
    expect(parseCliArgs(["--tape", "t.sqlite", "--resume", "r", "--rerun-in-doubt"])).toMatchObject({ resume: "r", rerunInDoubt: true });
  });

  it("builds typed inputs from the declarations and generates help", async () => {
    const registry = new AgentRegistry();
    await loadAgentModule(registry, MODULE);
    const notify = registry.require("notify");
    expect(buildInputs(notify, [["message", "hi"], ["times", "3"]], null, null)).toEqual({ message: "hi", times: 3 });
    expect(() => buildInputs(notify, [["tone", "x"]], null, null)).toThrow(/notify: unknown flag --tone \(flags: --message, --times, --dryRun\)/);
    // Inherited names are no ports (session 7: --constructor 5 and --toString were taken, and a
    // piped {"__proto__": …} became the inputs' prototype, its keys read as inputs).
    expect(() => buildInputs(notify, [["constructor", "5"]], null, null)).toThrow(/notify: unknown flag --constructor \(flags: --message, --times, --dryRun\)/);
    expect(() => buildInputs(notify, [["toString", true]], null, null)).toThrow(/notify: unknown flag --toString/);
    const piped = buildInputs(notify, [], JSON.parse('{"__proto__": {"message": "from the prototype", "times": 9}, "times": 2}'), null);
    expect(piped).toEqual({ times: 2 });
    expect(Object.getPrototypeOf(piped)).toBe(Object.prototype);
    expect((piped as Record<string, unknown>).message).toBeUndefined();
    const help = agentHelp(notify);
    expect(help).toMatch(/--message <string>\s+what to send/);
    expect(help).toMatch(/--times <.*>\s+how often \(default: 1\)/);
    expect(help).toMatch(/Supports --dry-run/);
  });
});

describe("forge-agent CLI (real processes)", () => {
  it("runs an agent from flags and prints JSON; --help comes from the declarations", () => {
    const r = forgeAgent(["words", "--text", "one two three"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ words: ["one", "two", "three"], count: 3 });
    const help = forgeAgent(["shout", "--help"]);
    expect(help.stdout).toMatch(/forge-agent shout — Upper-case a list of words and join them/);
    expect(help.stdout).toMatch(/--separator <string>\s+joiner \(default: " "\)/);
  });

  it("pipes two agents together", () => {
    // A real shell pipe: the first agent's JSON outputs become the second's inputs by name.
    const agent = (args: string) => `"${process.execPath}" "${BIN}" --module "${MODULE}" ${args}`;
    const piped = spawnSync("/bin/sh", ["-c", `${agent("words --text 'pipes are fun'")} | ${agent("shout --stdin --separator _")}`], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(piped.status).toBe(0);
    expect(JSON.parse(piped.stdout)).toEqual({ text: "PIPES_ARE_FUN!" });
    const viaDash = forgeAgent(["notify", "--message", "-"], "from stdin\n");
    expect(JSON.parse(viaDash.stdout)).toEqual({ sent: true, message: "from stdin x1" });
  });

  it("reads at most MAX_STDIN_BYTES from stdin: past it one line naming the limit, exit 2", () => {
    // Real pipes into the real executable: an endless writer (`yes`) and one byte over the bound.
    const agent = `"${process.execPath}" "${BIN}" --module "${MODULE}"`;
    const sh = (cmd: string) => spawnSync("/bin/sh", ["-c", cmd], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
    const expected = `forge-agent: stdin: more than ${MAX_STDIN_BYTES} bytes (MAX_STDIN_BYTES); pass a smaller input, or a file path as a flag`;
    for (const cmd of [
      `yes '{"words": ["a"]}' | ${agent} shout --stdin`,
      `head -c ${MAX_STDIN_BYTES + 1} /dev/zero | ${agent} shout --stdin`,
      `head -c ${MAX_STDIN_BYTES + 1} /dev/zero | ${agent} notify --message -`,
    ]) {
      const r = sh(cmd);
      expect(r.signal, cmd).toBeNull(); // not killed by the timeout
      expect(r.status, cmd).toBe(2);
      expect(r.stderr.trim(), cmd).toBe(expected);
    }
    // Exactly the limit is read: a JSON object padded with spaces to MAX_STDIN_BYTES bytes.
    const json = '{"words": ["at", "the", "limit"], "separator": "_"}';
    const atLimit = sh(`{ printf '%s' '${json}'; head -c ${MAX_STDIN_BYTES - json.length} /dev/zero | tr '\\0' ' '; } | ${agent} shout --stdin`);
    expect(atLimit.stderr).toBe("");
    expect(JSON.parse(atLimit.stdout)).toEqual({ text: "AT_THE_LIMIT!" });
  }, 120_000);

  it("passes --dry-run to agents that support it", () => {
    expect(JSON.parse(forgeAgent(["notify", "--message", "m", "--dry-run"]).stdout).sent).toBe(false);
    expect(JSON.parse(forgeAgent(["notify", "--message", "m"]).stdout).sent).toBe(true);
  });

  it("reports user mistakes in one line, without a stack trace", () => {
    const unknown = forgeAgent(["nosuch"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^forge-agent: unknown agent "nosuch"/);
    const missing = forgeAgent(["words"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe('forge-agent: agent "words", input "text": is required but was not given');
    expect(missing.stderr).not.toMatch(/ at /);
  });

  it("records to a tape and resumes from it", () => {
    const dir = mkdtempSync(join(tmpdir(), "forge-cli-"));
    const tape = join(dir, "t.sqlite");
    const run = forgeAgent(["chain", "--file", join(dir, "side.txt"), "--ms", "0", "--tape", tape, "--run-id", "r7"]);
    expect(run.stderr).toMatch(/run r7/);
    const resumed = forgeAgent(["--tape", tape, "--resume", "r7"]);
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toEqual(JSON.parse(run.stdout));
  });
});
