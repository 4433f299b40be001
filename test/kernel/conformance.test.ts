/**
 * Runs Debian's jupyter_kernel_test harness (test/kernel/test_kernel_conformance.py) against
 * the kernel through jupyter_client, and asserts every one of its tests ran and passed.
 * Needs the Debian packages python3-jupyter-kernel-test and jupyter-client (/usr/bin/python3).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../kernel/cells/prelude.js";
import { runCommand } from "../helpers/command.js";

const PYTHON = "/usr/bin/python3";

describe("jupyter_kernel_test conformance", () => {
  it("passes all 12 KernelTests with every sample field filled", async () => {
    expect(existsSync(PYTHON), `${PYTHON} with python3-jupyter-kernel-test is required`).toBe(true);
    const run = await runCommand(PYTHON, [join(REPO_ROOT, "test", "kernel", "test_kernel_conformance.py")], {
      cwd: REPO_ROOT,
      env: { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: "1" },
      timeout: 540_000,
    });
    const report = `${run.stdout}\n${run.stderr}`;
    expect(report, report).toMatch(/Ran 12 tests in [\d.]+s\s+OK\s*$/);
    expect(report).not.toMatch(/skipped|FAIL|ERROR/);
    expect(run.status).toBe(0);
  }, 600_000);
});
