/**
 * Sandboxed proc agents: every escape is tried for real and must fail, while allowed work
 * succeeds. Two layers are tested: the user code's `vm` context (no host objects at all), and
 * the process boundary itself (permission model, rlimits, network namespace) with code that
 * runs directly in the restricted process, as if the context had been escaped.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AgentRegistry,
  SandboxError,
  defineSandboxedProc,
  defineWorkflow,
  networkNamespaceAvailable,
  runAgent,
  runSandboxed,
  sandboxCommand,
} from "../../../agents/index.js";

const root = mkdtempSync(join(tmpdir(), "forge-sandbox-"));
const allowed = join(root, "allowed");
const outside = join(root, "outside");
mkdirSync(allowed);
mkdirSync(outside);
writeFileSync(join(allowed, "in.txt"), "inside");
writeFileSync(join(outside, "secret.txt"), "secret");
const limits = { allowRead: [allowed], allowWrite: [allowed], wallMs: 8000, cpuSeconds: 3, memoryMb: 96 };

let server: Server;
let url = "";
beforeAll(async () => {
  server = createServer((_req, res) => res.end("pong"));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
});
afterAll(() => server.close());

/** The error of running `body` as the inside of `async function run(inputs)`. */
async function failure(body: string, extra = {}): Promise<SandboxError> {
  const error = await runSandboxed(`async function run(inputs) { ${body} }`, {}, { ...limits, ...extra }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, body).toBeInstanceOf(SandboxError);
  return error as SandboxError;
}

describe("sandbox: allowed work", () => {
  it("computes, reads and writes inside the allowed folder, logs, returns outputs", async () => {
    const code = `async function run(inputs) {
      const text = fs.readFile(${JSON.stringify(join(allowed, "in.txt"))});
      fs.writeFile(${JSON.stringify(join(allowed, "out.txt"))}, text + "+" + inputs.n);
      log("wrote", inputs.n);
      return { text, files: fs.readdir(${JSON.stringify(allowed)}).sort(), square: inputs.n * inputs.n };
    }`;
    const result = await runSandboxed(code, { n: 12 }, limits);
    expect(result.outputs).toEqual({ text: "inside", files: ["in.txt", "out.txt"], square: 144 });
    expect(result.logs).toEqual(["wrote 12"]);
    expect(readFileSync(join(allowed, "out.txt"), "utf8")).toBe("inside+12");
  });

  it("runs as a proc agent inside a workflow", async () => {
    const agent = defineSandboxedProc({
      name: "user.double",
      help: "user code",
      inputs: { x: { help: "" } },
      outputs: { y: { help: "" } },
      code: "async function run({ x }) { return { y: x * 2 } }",
      limits,
    });
    const wf = defineWorkflow({ name: "w", help: "", steps: [{ id: "d", agent: "user.double", inputs: { x: 21 } }], returns: { y: "{{d.y}}" } });
    expect((await runAgent(wf, {}, { registry: new AgentRegistry([agent]) })).outputs).toEqual({ y: 42 });
  });

  it("reports the user's own error and a missing run()", async () => {
    expect((await failure("throw new Error('bad input')")).message).toMatch(/sandboxed code failed: bad input/);
    await expect(runSandboxed("const x = 1;", {}, limits)).rejects.toThrow(/must define `async function run\(inputs\)`/);
  });
});

describe("sandbox: escapes from the code's context fail", () => {
  it("file system outside the allowed folders is refused (permission model)", async () => {
    expect((await failure(`return { s: fs.readFile(${JSON.stringify(join(outside, "secret.txt"))}) }`)).message).toMatch(/ERR_ACCESS_DENIED/);
    expect((await failure(`return { s: fs.readFile(${JSON.stringify(join(allowed, "..", "outside", "secret.txt"))}) }`)).message).toMatch(/ERR_ACCESS_DENIED/);
    expect((await failure(`fs.writeFile(${JSON.stringify(join(outside, "w.txt"))}, "x"); return {}`)).message).toMatch(/ERR_ACCESS_DENIED/);
    expect((await failure(`return { s: fs.readFile("/etc/passwd") }`)).message).toMatch(/ERR_ACCESS_DENIED/);
    expect(existsSync(join(outside, "w.txt"))).toBe(false);
  });

  it("no host objects: process, require, import(), fetch, constructor chains", async () => {
    expect((await failure("return { p: process.pid }")).message).toMatch(/process is not defined/);
    expect((await failure("return { r: require('child_process') }")).message).toMatch(/require is not defined/);
    expect((await failure("await import('node:child_process'); return {}")).message).toMatch(/dynamic import/i);
    expect((await failure("await fetch('http://example.com'); return {}")).message).toMatch(/fetch is not defined/);
    expect((await failure("return { p: this.constructor.constructor('return process')().pid }")).message).toMatch(/process is not defined/);
    expect((await failure("return { p: fs.readFile.constructor('return process')().pid }")).message).toMatch(/process is not defined/);
    const viaError = await failure(`try { fs.readFile("/etc/passwd") } catch (e) { return { p: e.constructor.constructor('return process')().pid } }`);
    expect(viaError.message).toMatch(/process is not defined/);
  });

  it("no network unless allowed", async () => {
    expect((await failure(`return { body: await fetchText(${JSON.stringify(url)}) }`)).message).toMatch(/fetchText is not defined/);
    const allowedRun = await runSandboxed(`async function run() { return await fetchText(${JSON.stringify(url)}) }`, {}, { ...limits, allowNetwork: true });
    expect(allowedRun.outputs).toEqual({ status: 200, body: "pong" });
  });
});

describe("sandbox: the process boundary holds even for code outside the context", () => {
  /** Run `source` as the restricted process's own entry script (i.e. an escaped context). */
  function inRestrictedProcess(source: string, extra = {}) {
    const dir = mkdtempSync(join(tmpdir(), "forge-escape-"));
    const entry = join(dir, "escaped.mjs");
    writeFileSync(entry, source);
    const { command, args } = sandboxCommand({ ...limits, ...extra }, entry);
    const r = spawnSync(command, args, { encoding: "utf8", timeout: 20_000 });
    return (r.stdout + r.stderr).trim();
  }

  it("refuses child processes, worker threads and files outside the allowed folders", () => {
    const out = inRestrictedProcess(`
      import { execSync } from "node:child_process";
      import { Worker } from "node:worker_threads";
      import { readFileSync } from "node:fs";
      const tryIt = (f) => { try { f(); return "allowed"; } catch (e) { return e.code ?? e.message; } };
      console.log(JSON.stringify({
        child: tryIt(() => execSync("echo hi")),
        worker: tryIt(() => new Worker("console.log(1)", { eval: true })),
        read: tryIt(() => readFileSync(${JSON.stringify(join(outside, "secret.txt"))})),
        readAllowed: readFileSync(${JSON.stringify(join(allowed, "in.txt"))}, "utf8"),
      }));`);
    expect(JSON.parse(out)).toEqual({ child: "ERR_ACCESS_DENIED", worker: "ERR_ACCESS_DENIED", read: "ERR_ACCESS_DENIED", readAllowed: "inside" });
  });

  it("refuses sockets when network is not allowed (network namespace, where the OS offers one)", () => {
    const source = `
      import net from "node:net";
      const s = net.connect(${JSON.stringify(Number(new URL(url).port))}, "127.0.0.1");
      s.on("connect", () => { console.log("connected"); s.destroy(); });
      s.on("error", (e) => console.log(e.code));`;
    if (networkNamespaceAvailable()) {
      expect(inRestrictedProcess(source)).toMatch(/ENETUNREACH|ECONNREFUSED/);
    } else {
      // Without namespaces the vm context is the only network boundary (tested above).
      expect(networkNamespaceAvailable()).toBe(false);
    }
    // The allowed case really reaches the server, so the refusal above is the boundary's doing.
    expect(inRestrictedProcess(source, { allowNetwork: true })).toBe("connected");
  });
});

describe("sandbox: resource limits", () => {
  it("kills code past its memory limit", async () => {
    const e = await failure("const a = []; while (true) a.push(new Array(1e5).fill(Math.random())); return {}", { memoryMb: 48 });
    expect(e.kind).toBe("sandbox-memory");
    // ArrayBuffers live outside the V8 heap: the data-segment rlimit stops them (4 GB asked, 64 MB allowed).
    const external = await failure("const keep = []; for (let i = 0; i < 8; i++) { const b = new Uint8Array(5e8); b.fill(1); keep.push(b); } return {}", { memoryMb: 64 });
    expect(external.kind).toBe("sandbox-memory");
  });

  it("kills code past its CPU limit", async () => {
    const e = await failure("while (true) {} return {}", { cpuSeconds: 1, wallMs: 30_000 });
    expect(e.kind).toBe("sandbox-cpu");
  });

  it("kills code past its wall-time limit, busy or idle", async () => {
    const idle = await failure("await new Promise(() => {}); return {}", { wallMs: 1500 });
    expect(idle.kind).toBe("sandbox-timeout");
    const busy = await failure("while (true) {} return {}", { wallMs: 1500, cpuSeconds: 30 });
    expect(busy.kind).toBe("sandbox-timeout");
    expect(busy.message).toMatch(/wall-time limit of 1500 ms/);
  });
});
