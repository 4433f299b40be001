import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as forge from "../../../forge/index.js";
import { startStudio, type StudioServer } from "../../../studio/server/app.js";
import { inspectJob, MAX_STREAMS } from "../../../studio/server/inspector.js";
import { agentFolder, writeModelRunExport, writeRunExport } from "../fixtures.js";
import { seedExample, testBackend } from "../../forge/transport/http/helpers.js";

let forgeServer: forge.HttpForgeServer;
let studio: StudioServer;

beforeAll(async () => {
  forgeServer = await forge.makeServer(await testBackend(), { address: "127.0.0.1:0", log: () => {} });
  studio = await startStudio({ folder: agentFolder(), dist: "/nonexistent" });
}, 120_000);
afterAll(async () => {
  await studio?.close();
  await forgeServer?.close();
});

describe("the run inspector's sources", () => {
  it("opens a finished job on a running Forge server like an export: streams, paths, a stream's zones and extractions", async () => {
    const client = new forge.server.HttpClient(forgeServer.url);
    const workflow = seedExample(4).factory();
    const { id } = await client.enqueue(workflow, { batchSize: 3, instances: 5, seed: 11 });
    const run = await client.result(id);

    const res = await fetch(new URL("/api/inspect/job", studio.url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ server: forgeServer.url, job: id }),
    });
    expect(res.status).toBe(200);
    const opened = (await res.json()) as { file: string; streams: Array<{ stream: number; status: string; segments: number }>; zones: unknown[] };
    expect(opened.streams.map((s) => s.stream)).toEqual(run.streams.map((s) => s.instance));
    expect(opened.streams.map((s) => s.status)).toEqual(run.streams.map((s) => s.status));
    expect(opened.zones.length).toBe(workflow.zones.length);

    const detail = await fetch(new URL(`/api/inspect/stream?path=${encodeURIComponent(opened.file)}&stream=${run.streams[0]!.instance}`, studio.url)).then((r) => r.json());
    expect(detail.segmentsList.length).toBe(opened.streams[0]!.segments);
    expect(detail.segmentsList.length).toBeGreaterThan(0);
    // The texts are the run's own extractions of that stream (instance order).
    const names = Object.keys(run.extractions);
    expect(names.length).toBeGreaterThan(0);
    const byName = new Map(detail.extractions.map((e: { extraction: string; text: string }) => [e.extraction, e.text]));
    for (const name of names) expect(byName.get(name), name).toBe(run.extractions[name]![0]);
  });

  it("shows a server job's tokens and decisions like an export's: fetched per stream from the server's tokens and decisions tables", async () => {
    const client = new forge.server.HttpClient(forgeServer.url);
    const workflow = seedExample(4).factory();
    const { id } = await client.enqueue(workflow, { batchSize: 2, instances: 3, seed: 12, logprobs: { top: 3 } });
    const run = await client.result(id);
    const post = (job: string) =>
      fetch(new URL("/api/inspect/job", studio.url), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ server: forgeServer.url, job }) }).then(
        async (r) => ({ status: r.status, body: await r.json() }),
      );
    const opened = await post(id);
    expect(opened.status).toBe(200);
    expect([opened.body.hasTokens, opened.body.hasTokenText, opened.body.hasDecisions, opened.body.hasLogprobs]).toEqual([true, true, true, true]);
    expect(opened.body.jobSource).toBeUndefined();
    const tokenizer = (await testBackend()).tokenizer;
    for (const s of run.streams) {
      const res = await fetch(new URL(`/api/inspect/stream?path=${encodeURIComponent(opened.body.file)}&stream=${s.instance}`, studio.url));
      expect(res.status).toBe(200);
      const body = await res.json();
      const marks = body.tokenMarks;
      expect(marks.token).toEqual(Array.from(s.tokens));
      expect(marks.forced).toEqual(Array.from(s.forced, (f) => f === 1));
      expect(marks.text.join("")).toBe(tokenizer.decode(Array.from(s.tokens)));
      for (let i = 0; i < s.tokens.length; i++) {
        if (s.forced[i]) expect(marks.logprob[i]).toBeNull();
        else expect(marks.logprob[i]).toBeCloseTo(s.logprobs!.model[i]!, 4);
      }
      const generated = s.forced.findIndex((f) => f === 0);
      expect(marks.top[generated].ids).toEqual(Array.from(s.logprobs!.top!.ids.subarray(generated * 3, generated * 3 + 3)));
      const decisions = run.decisions!.filter((d) => d.instance === s.instance);
      expect(body.decisions.map((d: { visit: number; step: number; outcome: string }) => [d.visit, d.step, d.outcome])).toEqual(decisions.map((d) => [d.visit, d.step, d.outcome]));
    }

    // A job run without logprobs: tokens (forced / generated), no logprobs, no decisions.
    const plain = await client.enqueue(workflow, { batchSize: 2, instances: 2, seed: 12 });
    const plainRun = await client.result(plain.id);
    const plainOpened = await post(plain.id);
    expect([plainOpened.body.hasTokens, plainOpened.body.hasDecisions, plainOpened.body.hasLogprobs]).toEqual([true, false, false]);
    const detail = await fetch(new URL(`/api/inspect/stream?path=${encodeURIComponent(plainOpened.body.file)}&stream=1`, studio.url)).then((r) => r.json());
    expect(detail.tokenMarks.token).toEqual(Array.from(plainRun.streams[1]!.tokens));
    expect(detail.tokenMarks.logprob.every((x: number | null) => x === null)).toBe(true);
    expect(detail.decisions).toBeUndefined();
  }, 120_000);

  it("says what went wrong with a job: unknown id, unreachable server, not a URL", async () => {
    await expect(inspectJob(forgeServer.url, "00000000-0000-4000-8000-000000000000")).rejects.toThrow(/answered 404/);
    await expect(inspectJob("http://127.0.0.1:1", "x")).rejects.toThrow(/cannot reach the Forge server/);
    await expect(inspectJob("ftp://x", "x")).rejects.toThrow(/starts with http/);
  });

  it("opens at most MAX_STREAMS streams of a larger export and says how many it left out", async () => {
    const folder = agentFolder();
    const file = await writeRunExport(folder, "huge", MAX_STREAMS + 6);
    const { inspectExport } = await import("../../../studio/server/inspector.js");
    const run = inspectExport(file, "huge.samples.arrow");
    expect(run.streams).toHaveLength(MAX_STREAMS);
    expect(run.truncated).toBe(6);
  });

  it("reads a real run's tokens and decisions tables beside the export: each stream's tokens with text, forced marks, logprobs, top alternatives", async () => {
    const folder = agentFolder();
    const { run, tokenizer } = await writeModelRunExport(folder, "model-run", 3);
    await writeRunExport(folder, "plain", 4);
    const local = await startStudio({ folder, dist: "/nonexistent" });
    try {
      const get = (url: string) => fetch(new URL(url, local.url)).then(async (r) => ({ status: r.status, body: await r.json() }));
      const opened = (await get("/api/inspect?path=model-run.samples.arrow")).body;
      expect([opened.hasTokens, opened.hasTokenText, opened.hasDecisions, opened.hasLogprobs]).toEqual([true, true, true, true]);
      const plain = (await get("/api/inspect?path=plain.samples.arrow")).body;
      expect([plain.hasTokens, plain.hasDecisions]).toEqual([false, false]);
      expect((await get("/api/inspect/stream?path=plain.samples.arrow&stream=1")).body.tokenMarks).toBeUndefined();

      for (const s of run.streams) {
        const { status, body } = await get(`/api/inspect/stream?path=model-run.samples.arrow&stream=${s.instance}`);
        expect(status).toBe(200);
        const marks = body.tokenMarks;
        expect(marks.token).toEqual(Array.from(s.tokens));
        expect(marks.forced).toEqual(Array.from(s.forced, (f) => f === 1));
        // The pieces joined are the stream's text as the tokenizer's bytes decode it.
        const bytes = Buffer.concat(Array.from(s.tokens, (t) => Buffer.from(tokenizer.tokenBytes(t))));
        expect(marks.text.join("")).toBe(new TextDecoder().decode(bytes));
        for (let i = 0; i < s.tokens.length; i++) {
          if (s.forced[i]) expect(marks.logprob[i]).toBeNull();
          else expect(marks.logprob[i]).toBeCloseTo(s.logprobs!.model[i]!, 4);
        }
        expect(marks.logprob.some((x: number | null) => x !== null)).toBe(true);
        const generated = s.forced.findIndex((f) => f === 0);
        expect(marks.top[generated].ids).toEqual(Array.from(s.logprobs!.top!.ids.subarray(generated * 3, generated * 3 + 3)));
        expect(marks.top[generated].texts.every((t: string | null) => t === null || typeof t === "string")).toBe(true);
        expect(marks.top[s.forced.findIndex((f) => f === 1)]).toBeNull();
        const decisions = run.decisions!.filter((d) => d.instance === s.instance);
        expect(body.decisions.map((d: { visit: number; step: number; outcome: string }) => [d.visit, d.step, d.outcome])).toEqual(decisions.map((d) => [d.visit, d.step, d.outcome]));
        // Every zone's step range lies within the tokens sent.
        for (const seg of body.segmentsList) expect(seg.stepEnd).toBeLessThanOrEqual(marks.step.length);
      }
    } finally {
      await local.close();
    }
  }, 300_000);

  it("says which tokens table is not a datasets tokensTable: a column missing, a stream's rows apart", async () => {
    const { tableFromArrays } = await import("apache-arrow");
    const { exportTable } = await import("../../../datasets/index.js");
    const { inspectExport } = await import("../../../studio/server/inspector.js");
    const folder = agentFolder();
    const file = await writeRunExport(folder, "odd", 2);
    const columns = { stream: Int32Array.from([0, 1, 0]), step: Int32Array.from([0, 0, 1]), token: Int32Array.from([5, 6, 7]), forced: [true, false, false], logprob: Float32Array.from([NaN, -1, -2]), sampling_logprob: Float32Array.from([NaN, -1, -2]) };
    await exportTable(tableFromArrays(columns) as never, { path: join(folder, "odd.tokens.arrow") });
    expect(() => inspectExport(file, "odd.samples.arrow")).toThrow(/odd\.samples\.arrow \(tokens table\).*has no column "hazard"/);
    await exportTable(tableFromArrays({ ...columns, hazard: Float32Array.from([NaN, NaN, NaN]) }) as never, { path: join(folder, "odd.tokens.arrow") });
    expect(() => inspectExport(file, "odd.samples.arrow")).toThrow(/stream 0's tokens are not together at row 2/);
  });
});
