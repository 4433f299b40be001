/**
 * A real crash: the workflow runs in a child process (the CLI, recording to a tape), is
 * killed with SIGKILL midway, then resumed from the tape by a second process.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { AgentRegistry, Tape, loadAgentModule, runAgent } from "../../../agents/index.js";

const ROOT = resolve(import.meta.dirname, "../../..");
const CLI = join(ROOT, "agents/cli.ts");
const MODULE = join(ROOT, "test/agents/fixtures/agents.ts");
const cli = (args: string[]) => [process.execPath, ["--import", "tsx", CLI, "--module", MODULE, ...args]] as const;
const lines = (file: string) => (existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean) : []);
const counts = (file: string) => lines(file).reduce<Record<string, number>>((m, l) => ((m[l] = (m[l] ?? 0) + 1), m), {});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("resume after SIGKILL", () => {
  it("runs no finished step again and ends with the outputs of an uninterrupted run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "forge-kill-"));
    // Reference: the same workflow, uninterrupted, in this process.
    const registry = new AgentRegistry();
    await loadAgentModule(registry, MODULE);
    const reference = await runAgent("chain", { file: join(dir, "reference.txt"), ms: 5 }, { registry });

    const side = join(dir, "side.txt");
    const tapeFile = join(dir, "tape.sqlite");
    const [cmd, args] = cli(["chain", "--file", side, "--ms", "250", "--tape", tapeFile, "--run-id", "crash"]);
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on("exit", (_code, signal) => r(signal)));
    // Kill once m1, m2, m3 are settled on the tape (inside the 8-step run, well before the end).
    // A step appends its line and only then records its outcome, so three lines alone could be
    // m3's side effect with its tape event still to come (the kill then found two settled steps);
    // m4's line comes a whole step after m3 settled, since m4 waits for m3's value.
    for (let waited = 0; lines(side).length < 4; waited += 20) {
      if (waited > 30_000) throw new Error("the child never got going: " + readFileSync(side, "utf8"));
      await sleep(20);
    }
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");

    const tape = Tape.open(tapeFile);
    expect(tape.getRun("crash")!.status).toBe("running"); // it never got to record an end
    const settled = [...tape.outcomes("crash").keys()];
    tape.close();
    expect(settled.length).toBeGreaterThanOrEqual(3);
    expect(settled).not.toContain("m6");
    const before = counts(side);

    const [cmd2, args2] = cli(["--tape", tapeFile, "--resume", "crash"]);
    const resumed = spawnSync(cmd2, args2, { cwd: ROOT, encoding: "utf8" });
    expect(resumed.stderr).toMatch(/run crash \(resumed\)/);
    expect(resumed.status).toBe(0);
    expect(JSON.parse(resumed.stdout)).toEqual(reference.outputs);

    const after = counts(side);
    // Every step settled on the tape before the kill ran exactly once, in total.
    for (const path of settled) expect(after[path], path).toBe(1);
    // Every step ran; only a step caught mid-flight by the kill may have run twice.
    const all = ["m1", "m2", "m3", "m4", "pair/p1", "pair/p2", "m5", "m6"];
    expect(Object.keys(after).sort()).toEqual([...all].sort());
    const twice = all.filter((p) => after[p] === 2);
    expect(twice.length).toBeLessThanOrEqual(1);
    for (const p of twice) expect(before[p]).toBe(1); // the side effect landed, its tape event did not
  });
});
