import { existsSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStudio, type StudioServer } from "../../../studio/server/app.js";
import { studioRoutes } from "../../../studio/server/schemas.js";
import { agentFolder, writeRunExport } from "../fixtures.js";

const WORKFLOW = `# hand-written
name = "hello"
[inputs.who]
type = "string"

[[steps]]
id = "greet"
agent = "greet"
inputs = { name = "{{who}}" }

[[steps]]
id = "shout"
agent = "shout"
inputs = { text = "{{greet.text}}" }

[returns]
out = "{{shout.text}}"
`;

let studio: StudioServer;
let folder: string;

async function api(path: string, init?: { method?: string; body?: unknown; headers?: Record<string, string> }, base = studio.url) {
  const res = await fetch(new URL(path, base), {
    method: init?.method ?? "GET",
    headers: { ...(init?.body !== undefined ? { "content-type": "application/json" } : {}), ...init?.headers },
    body: init?.body !== undefined ? JSON.stringify(init.body) : undefined,
  });
  return { status: res.status, body: (await res.json().catch(() => null)) as any };
}

beforeAll(async () => {
  folder = agentFolder({
    "hello.toml": WORKFLOW,
    "package.json": '{"name":"not-an-agent"}',
    "prompts.toml": '[config]\nzone_tokens = ["[Prompt]", "[Answer]"]\n[[sequences.setup]]\ntext = "hi"\n', // UDPL, not an agent
    // A script that is not an agent module: listing or loading the folder must not run it.
    "scripts/side-effect.ts": 'import { writeFileSync } from "node:fs"; writeFileSync(new URL("./ran.txt", import.meta.url), "ran");\nexport default 1;\n',
  });
  await writeRunExport(folder, "r1", 40);
  studio = await startStudio({ folder, dist: join(folder, "no-dist") });
});
afterAll(async () => {
  await studio?.close();
});

describe("studio API", () => {
  it("lists the built-ins and the folder's agents with their ports and files", async () => {
    const { status, body } = await api("/api/agents");
    expect(status).toBe(200);
    const names = body.agents.map((a: { name: string }) => a.name);
    expect(names).toEqual(expect.arrayContaining(["noop", "loop", "greet", "shout", "frame", "hello"]));
    expect(body.agents.find((a: { name: string }) => a.name === "greet")).toMatchObject({ kind: "template", file: "greet.toml", inputs: [{ name: "name", help: "who to greet" }] });
    expect(body.problems).toEqual({});
    // Built-ins come from no file.
    expect(body.agents.filter((a: { file?: string }) => a.file === undefined).map((a: { name: string }) => a.name).sort()).toEqual(["datasets.export", "forge.sample", "loop", "noop"]);
    expect(existsSync(join(folder, "scripts", "ran.txt"))).toBe(false);
    const files = await api("/api/files");
    expect(files.body.files.map((f: { path: string }) => f.path)).not.toContain("scripts/side-effect.ts");
    expect(files.body.files.map((f: { path: string }) => f.path)).toEqual(expect.arrayContaining(["hello.toml", "r1.samples.arrow"]));
  });

  it("saves an unchanged file without touching it and a changed one through the agents' schema", async () => {
    const opened = await api("/api/file?path=hello.toml");
    expect(opened.body.text).toBe(WORKFLOW);
    expect((await api("/api/file", { method: "PUT", body: { path: "hello.toml", data: opened.body.data } })).body).toEqual({ path: "hello.toml", changed: false });
    expect(readFileSync(join(folder, "hello.toml"), "utf8")).toBe(WORKFLOW);
    const bad = await api("/api/file", { method: "PUT", body: { path: "hello.toml", data: { ...opened.body.data, steps: [{ id: "1x", agent: "greet" }] } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/steps\[0\]\.id/);
    expect(readFileSync(join(folder, "hello.toml"), "utf8")).toBe(WORKFLOW);
  });

  it("refuses paths outside the folder, and bad bodies, with 400 and where", async () => {
    const r = await api("/api/file?path=../etc/passwd");
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: "studio_invalid", where: "../etc/passwd" });
    symlinkSync("/etc/hostname", join(folder, "outside.toml"));
    const link = await api("/api/file?path=outside.toml");
    expect(link.status).toBe(400);
    expect(link.body.error.message).toMatch(/link to outside/);
    rmSync(join(folder, "outside.toml"));
    const b = await api("/api/runs", { method: "POST", body: { inputs: {} } });
    expect(b.status).toBe(400);
    expect(b.body.error.where).toBe("body.agent");
  });

  it("validates as you type: the planner's problems by step", async () => {
    const doc = { name: "w", steps: [{ id: "a", agent: "greet" }, { id: "b", agent: "nope" }] };
    const { body } = await api("/api/validate", { method: "POST", body: { doc } });
    expect(body.problems).toEqual(expect.arrayContaining([
      expect.objectContaining({ step: "a", code: "unwired-input" }),
      expect.objectContaining({ step: "b", code: "unknown-agent" }),
    ]));
  });

  it("runs a workflow with live per-step status from the tape, and dry-runs", async () => {
    const started = await api("/api/runs", { method: "POST", body: { agent: "hello", inputs: { who: "Ada" } } });
    expect(started.status).toBe(200);
    let view;
    for (let i = 0; i < 100; i++) {
      view = (await api(`/api/runs/${started.body.runId}`)).body;
      if (view.status !== "running") break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(view.status).toBe("succeeded");
    expect(view.outputs).toEqual({ out: "HELLO ADA!" });
    expect(view.steps.map((s: { path: string; status: string }) => [s.path, s.status])).toEqual([["greet", "succeeded"], ["shout", "succeeded"]]);
    const list = await api("/api/runs");
    expect(list.body.runs[0].runId).toBe(started.body.runId);
    const dry = await api("/api/runs", { method: "POST", body: { agent: "hello", inputs: { who: "Ada" }, dryRun: true } });
    for (let i = 0; i < 100; i++) {
      view = (await api(`/api/runs/${dry.body.runId}`)).body;
      if (view.status !== "running") break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(view.status).toBe("succeeded"); // templates do nothing outside: a dry run is a run
    const broken = await api("/api/runs", { method: "POST", body: { agent: "nope" } });
    expect(broken.status).toBe(400);
  });

  it("resumes a run whose process was killed: settled steps are not run again", async () => {
    // What a killed process leaves on the tape: the run open, its first step settled.
    const tape = studio.runs.tape;
    tape.startRun("killed-1", "hello", { who: "Bo" });
    tape.record({ runId: "killed-1", path: "greet", kind: "started", attempt: 1, at: Date.now(), inputs: { name: "Bo" } });
    tape.record({ runId: "killed-1", path: "greet", kind: "succeeded", attempt: 1, at: Date.now(), outputs: { text: "Hello from the first process" }, status: "succeeded" });
    tape.flush();
    const before = await api("/api/runs/killed-1");
    expect(before.body).toMatchObject({ status: "running", interrupted: true });
    expect((await api("/api/runs/killed-1/resume", { method: "POST", body: {} })).status).toBe(200);
    let view;
    for (let i = 0; i < 100; i++) {
      view = (await api("/api/runs/killed-1")).body;
      if (view.status !== "running") break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(view.outputs).toEqual({ out: "HELLO FROM THE FIRST PROCESS!" });
    expect(tape.events("killed-1").filter((e) => e.path === "greet" && e.kind === "started")).toHaveLength(1);
  });

  it("extracts steps to a sub-workflow saved as its own file", async () => {
    const { body: opened } = await api("/api/file?path=hello.toml");
    const r = await api("/api/extract", { method: "POST", body: { doc: opened.data, steps: ["shout"], name: "loud" } });
    expect(r.status).toBe(200);
    expect(r.body.file).toBe("loud.toml");
    expect(existsSync(join(folder, "loud.toml"))).toBe(true);
    expect(r.body.parent.returns).toEqual({ out: "{{loud.shout.text}}" });
    const again = await api("/api/extract", { method: "POST", body: { doc: opened.data, steps: ["shout"], name: "loud" } });
    expect(again.status).toBe(400);
    expect(again.body.error.message).toMatch(/exists already/);
  });

  it("reports TypeScript syntax errors of proc agent code", async () => {
    const { body } = await api("/api/diagnostics", { method: "POST", body: { text: "export const x = ;" } });
    expect(body.diagnostics[0]).toMatchObject({ severity: "error", from: 17 });
  });

  it("opens a run export: streams with status and paths, a stream's segments and extractions", async () => {
    const { status, body } = await api("/api/inspect?path=r1.paths.arrow");
    expect(status).toBe(200);
    expect(body.streams).toHaveLength(40);
    expect(body.zones.map((z: { capture: string | null }) => z.capture)).toEqual([null, "decision", "reason"]);
    expect(body.streams[3]).toMatchObject({ stream: 3, pathId: "setup > decide", segments: 2, jumps: 1 });
    const s = await api("/api/inspect/stream?path=r1.samples.arrow&stream=4");
    expect(s.body.extractions.map((e: { text: string }) => e.text)).toEqual(["yes, stream 4", "because 4 is not a multiple of three"]);
    expect(s.body.segmentsList.map((g: { zoneId: number }) => g.zoneId)).toEqual([0, 1, 2]);
    expect((await api("/api/inspect/stream?path=r1.samples.arrow&stream=999")).status).toBe(400);
  });

  it("describes every route it serves in studioRoutes", () => {
    for (const r of studioRoutes) expect(studio.app.hasRoute({ method: r.method, url: r.path.replace("{runId}", ":runId") }), r.path).toBe(true);
  });
});

describe("studio auth and loopback rules", () => {
  it("asks for the bearer token when given a token file", async () => {
    const tokens = join(folder, ".tokens");
    writeFileSync(tokens, "studio-token-0123456789abcdef\n");
    const guarded = await startStudio({ folder, authFile: tokens, dist: join(folder, "no-dist") });
    try {
      const denied = await api("/api/agents", undefined, guarded.url);
      expect(denied.status).toBe(401);
      const ok = await api("/api/agents", { headers: { authorization: "Bearer studio-token-0123456789abcdef" } }, guarded.url);
      expect(ok.status).toBe(200);
    } finally {
      await guarded.close();
    }
  });

  it("says so when its port is taken", async () => {
    const port = new URL(studio.url).port;
    await expect(startStudio({ folder, address: `127.0.0.1:${port}`, dist: join(folder, "no-dist") })).rejects.toThrow(/is in use: choose another port/);
  });

  it("refuses to listen beyond loopback without auth", async () => {
    await expect(startStudio({ folder, address: "0.0.0.0:0" })).rejects.toThrow(/reachable from other machines/);
  });

  it("refuses changes sent by a page of another origin", async () => {
    const r = await api("/api/file", { method: "PUT", body: { path: "x.toml", data: {} }, headers: { origin: "https://evil.example" } });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe("forbidden_origin");
    const same = await api("/api/validate", { method: "POST", body: { doc: { name: "w", steps: [] } }, headers: { origin: new URL(studio.url).origin } });
    expect(same.status).toBe(200);
  });

  it("answers only loopback Host headers without auth (no DNS rebinding)", async () => {
    const url = new URL("/api/agents", studio.url);
    const status = await new Promise<number>((resolve, reject) => {
      request({ host: url.hostname, port: url.port, path: url.pathname, headers: { host: "evil.example" } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      }).on("error", reject).end();
    });
    expect(status).toBe(403);
  });
});
