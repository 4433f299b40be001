/**
 * Issue #15, item 12: symbolic links must not carry sandboxed code outside its allowed folders —
 * neither links that exist when the run starts (file link, directory link, dangling link) nor
 * links that appear while the code runs — while links that stay inside keep working.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SandboxError, runSandboxed } from "../../../agents/index.js";

const limitsFor = (allowed: string) => ({ allowRead: [allowed], allowWrite: [allowed], wallMs: 15_000, cpuSeconds: 8, memoryMb: 96 });

/** A fresh allowed/ and outside/ pair; outside/secret.txt holds "secret". */
function folders() {
  const root = mkdtempSync(join(tmpdir(), "forge-links-"));
  const allowed = join(root, "allowed");
  const outside = join(root, "outside");
  mkdirSync(allowed);
  mkdirSync(outside);
  writeFileSync(join(allowed, "in.txt"), "inside");
  writeFileSync(join(outside, "secret.txt"), "secret");
  return { root, allowed, outside };
}

async function outcome(code: string, limits: object): Promise<{ outputs?: unknown; error?: SandboxError }> {
  return runSandboxed(code, {}, limits).then(
    (r) => ({ outputs: r.outputs }),
    (e: unknown) => {
      expect(e).toBeInstanceOf(SandboxError);
      return { error: e as SandboxError };
    },
  );
}

const q = JSON.stringify;

describe("sandbox: symbolic links", () => {
  it("refuses a file link to /etc/passwd that sits in the allowed folder", async () => {
    const { allowed } = folders();
    symlinkSync("/etc/passwd", join(allowed, "link-to-passwd"));
    const r = await outcome(`async function run() { return { text: fs.readFile(${q(join(allowed, "link-to-passwd"))}) } }`, limitsFor(allowed));
    expect(JSON.stringify(r.outputs ?? {})).not.toMatch(/root:/);
    expect(r.error?.message).toMatch(/link-to-passwd" is a symbolic link leading outside the allowed folders \(to "\/etc\/passwd"\)/);
  });

  it("refuses a directory link to ../outside, for reading, listing and writing", async () => {
    const { allowed, outside } = folders();
    symlinkSync("../outside", join(allowed, "link-dir"));
    for (const body of [
      `return { text: fs.readFile(${q(join(allowed, "link-dir", "secret.txt"))}) }`,
      `return { names: fs.readdir(${q(join(allowed, "link-dir"))}) }`,
      `fs.writeFile(${q(join(allowed, "link-dir", "planted.txt"))}, "x"); return {}`,
    ]) {
      const r = await outcome(`async function run() { ${body} }`, limitsFor(allowed));
      expect(r.outputs, body).toBeUndefined();
      expect(r.error?.message, body).toMatch(/link-dir" is a symbolic link leading outside/);
    }
    expect(existsSync(join(outside, "planted.txt"))).toBe(false);
  });

  it("refuses a dangling link whose target would be created outside", async () => {
    const { allowed, outside } = folders();
    symlinkSync(join(outside, "created.txt"), join(allowed, "dangling"));
    const r = await outcome(`async function run() { fs.writeFile(${q(join(allowed, "dangling"))}, "x"); return {} }`, limitsFor(allowed));
    expect(r.error?.message).toMatch(/dangling" is a symbolic link leading outside/);
    expect(existsSync(join(outside, "created.txt"))).toBe(false);
  });

  it("refuses links that appear while the code runs (file link and directory link)", async () => {
    const { allowed, outside } = folders();
    const late = join(allowed, "late");
    mkdirSync(late);
    // The code waits (busy, through the fs shim) for the marker, then uses the links made meanwhile.
    const code = `async function run() {
      fs.writeFile(${q(join(late, "started"))}, "");
      for (let i = 0; i < 2e6 && !fs.readdir(${q(late)}).includes("go"); i++) {}
      const tryIt = (f) => { try { return "allowed: " + f(); } catch (e) { return String(e.message); } };
      return {
        file: tryIt(() => fs.readFile(${q(join(late, "secret-link"))})),
        dir: tryIt(() => fs.readFile(${q(join(late, "dir-link", "secret.txt"))})),
        list: tryIt(() => fs.readdir(${q(join(late, "dir-link"))}).join(",")),
        write: tryIt(() => { fs.writeFile(${q(join(late, "dir-link", "planted.txt"))}, "x"); return "written"; }),
      };
    }`;
    const running = runSandboxed(code, {}, limitsFor(allowed));
    for (let waited = 0; !existsSync(join(late, "started")); waited += 20) {
      if (waited > 20_000) throw new Error("the sandbox never started");
      await new Promise((r) => setTimeout(r, 20));
    }
    symlinkSync(join(outside, "secret.txt"), join(late, "secret-link"));
    symlinkSync(outside, join(late, "dir-link"));
    writeFileSync(join(late, "go"), "");
    const { outputs } = await running;
    const o = outputs as Record<string, string>;
    for (const key of ["file", "dir", "list", "write"]) {
      expect(o[key], key).toMatch(/ERR_ACCESS_DENIED: .* is a symbolic link \(or lies under one\) that leads outside the folders this agent may (read|write)/);
    }
    expect(existsSync(join(outside, "planted.txt"))).toBe(false);
    expect(readFileSync(join(outside, "secret.txt"), "utf8")).toBe("secret");
  });

  it("keeps links that stay inside working, and grants a folder given through a link by its real path", async () => {
    const { root, allowed } = folders();
    mkdirSync(join(allowed, "sub"));
    symlinkSync("in.txt", join(allowed, "alias.txt"));
    symlinkSync(join(allowed, "sub"), join(allowed, "sub-link"));
    symlinkSync(allowed, join(root, "allowed-alias"));
    const alias = join(root, "allowed-alias");
    const code = `async function run() {
      fs.writeFile(${q(join(alias, "sub-link", "w.txt"))}, "via links");
      return { a: fs.readFile(${q(join(alias, "alias.txt"))}), b: fs.readFile(${q(join(allowed, "sub", "w.txt"))}) };
    }`;
    const r = await outcome(code, limitsFor(alias));
    expect(r.error).toBeUndefined();
    expect(r.outputs).toEqual({ a: "inside", b: "via links" });
  });
});
