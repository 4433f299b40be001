/**
 * The `forge` command as a user meets it, in real processes: command-line mistakes and UDPL
 * mistakes are one message (and the usage), never a stack trace; the exit code says which.
 * (The run itself is exercised by `npm start` in CI and by the engine suites.)
 */
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const BIN = resolve(ROOT, "cli/bin.mjs");

function forgeCommand(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("forge run (real processes)", () => {
  it("prints the usage for --help and exits 0", () => {
    const r = forgeCommand(["run", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: npm start -- .*--batch N/);
  });

  it.each([
    [["--hlp"], /Unknown option '--hlp'/],
    [["--batch", "0"], /--batch must be an integer from 1 to 4096, got "0"/],
    [["--batch", "many"], /--batch must be an integer/],
    [["--seed=-1"], /--seed must be an integer from 0/],
    [["--temperature", "hot"], /--temperature must be a number ≥ 0/],
  ])("refuses %j with one line and the usage, exit 2", (args, message) => {
    const r = forgeCommand(["run", ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain("usage: npm start");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("names a missing UDPL file with the error's code, no stack, exit 1", () => {
    const r = forgeCommand(["run", "--udpl", "/nonexistent/seed.toml"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^UdplError \[udpl_invalid\]: \/nonexistent\/seed\.toml: cannot read UDPL file/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("says which subcommands exist when given an unknown one", () => {
    const r = forgeCommand(["frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/usage: forge run/);
  });
});
