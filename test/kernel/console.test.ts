/**
 * `jupyter console` (Debian's jupyter-console, driven through a pty with pexpect): a cell
 * runs, and typing `exit` ends the console — the kernel answers it with IPython's ask_exit
 * payload instead of running it as code (where it was a ReferenceError and the console stayed).
 */
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { installKernelspec } from "../../kernel/install.js";
import { REPO_ROOT } from "../../kernel/cells/prelude.js";
import { runCommand } from "../helpers/command.js";

const PYTHON = "/usr/bin/python3";

const SCRIPT = `
import json, sys, pexpect
child = pexpect.spawn("/usr/bin/jupyter-console", ["--kernel", "forge-typescript", "--simple-prompt"], encoding="utf-8", timeout=240, dimensions=(40, 200))
steps = []
def expect(pattern, timeout=240):
    index = child.expect([pattern, pexpect.EOF, pexpect.TIMEOUT], timeout=timeout)
    steps.append({"pattern": pattern, "found": index == 0, "before": child.before[-600:]})
    return index == 0
ok = expect(r"In \\[1\\]: ")
if ok:
    child.sendline("6 * 7")
    ok = expect(r"Out\\[1\\]: 42")
if ok:
    ok = expect(r"In \\[2\\]: ")
if ok:
    child.sendline("exit")
    ended = child.expect([pexpect.EOF, r"In \\[3\\]: ", pexpect.TIMEOUT], timeout=60)
    steps.append({"pattern": "EOF after exit", "found": ended == 0, "before": (child.before or "")[-600:]})
child.close(force=True)
print(json.dumps({"steps": steps, "exitstatus": child.exitstatus}))
`;

describe("jupyter console", () => {
  it("runs a cell, and `exit` ends the console", async (context) => {
    const missing = [PYTHON, "/usr/bin/jupyter-console"].filter((p) => !existsSync(p));
    if (missing.length) {
      console.log(`skipped: ${missing.join(", ")} not installed (Debian's jupyter-console)`);
      context.skip();
    }
    const prefix = mkdtempSync(join(tmpdir(), "forge-console-"));
    installKernelspec({ prefix });
    const script = join(prefix, "console.py");
    writeFileSync(script, SCRIPT);
    const run = await runCommand(PYTHON, [script], {
      cwd: REPO_ROOT,
      env: { ...process.env, JUPYTER_PATH: join(prefix, "share", "jupyter"), JUPYTER_RUNTIME_DIR: join(prefix, "runtime"), PYDEVD_DISABLE_FILE_VALIDATION: "1" },
    });
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout.trim().split("\n").at(-1)!) as { steps: { pattern: string; found: boolean; before: string }[]; exitstatus: number | null };
    const detail = JSON.stringify(report, null, 2);
    expect(report.steps.map((s) => [s.pattern, s.found]), detail).toEqual([
      ["In \\[1\\]: ", true],
      ["Out\\[1\\]: 42", true],
      ["In \\[2\\]: ", true],
      ["EOF after exit", true],
    ]);
    const afterExit = report.steps.at(-1)!.before;
    expect(afterExit).not.toMatch(/ReferenceError|is not defined/);
    expect(afterExit).toMatch(/Shutting down kernel/);
  }, 300_000);
});
