/**
 * The Forge HTTP server end to end over loopback, with the real engine on a small random
 * model: remote and direct sessions agree exactly, results come as JSON and Arrow, progress
 * streams, jobs queue and cancel independently, auth hides everything, shutdown keeps results.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { once } from "node:events";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tableFromIPC } from "apache-arrow";
import * as forge from "../../../../forge/index.js";
import { RemoteError, HttpClient, type HttpForgeServer, type JobEvent } from "../../../../forge/transport/http/index.js";
import { tinySeedProgram } from "../../../helpers/workflows.js";
import { memoryLog, seedExample, testBackend } from "./helpers.js";
// The serving process loads the datasets layer, which registers the result.arrow tables (tables.test.ts: without it).
import "../../../../datasets/index.js";

let backend: forge.ForgeBackend;
let server: HttpForgeServer;
const serverLog = memoryLog();

beforeAll(async () => {
  backend = await testBackend();
  server = await forge.makeServer(backend, { address: "127.0.0.1:0", log: serverLog.log });
});
afterAll(() => server?.close({ mode: "cancel" }));

/** A Run without the fields that differ between two executions of the same request. */
function timeless(run: forge.Run) {
  const { runId: _id, startedAt: _at, wallMs: _ms, ...meta } = run.meta;
  return { ...run, meta };
}

/**
 * A workflow long enough to be cancelled mid-run: the random model rarely jumps, so zones
 * time out at maxGen and the loop runs up to 16 times (≈ 2 000 steps a stream).
 */
const longWorkflow = () => tinySeedProgram(64, 16).factory();

describe("serving", () => {
  it("listens on loopback, says so at start, and answers /health and /info", async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(serverLog.lines[0]).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+ — loopback only.*auth: none/);
    expect(await (await fetch(`${server.url}/health`)).json()).toEqual({ status: "ok" });
    const info = await new HttpClient(server.url).info();
    expect(info).toMatchObject({ tokenizer: backend.tokenizer.identity, model: backend.info().model, backend: "wasm", scheduling: "fifo", auth: null });
    expect(info.limits.maxTokens).toBe(2048);
  });

  it("binds loopback when the address names only a port", async () => {
    const lines: string[] = [];
    const portOnly = await forge.makeServer(backend, { address: "0", log: (line) => lines.push(line) });
    expect(portOnly.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(lines[0]).toMatch(/loopback only/);
    await portOnly.close();
  });

  it("refuses a non-loopback address without auth, naming the fix", async () => {
    await expect(forge.makeServer(backend, { address: "0.0.0.0:0", log: () => {} })).rejects.toThrow(/reachable from other machines, and no auth is configured/);
  });
});

describe("remote session", () => {
  it("gives the same results as the direct session for the same seed", async () => {
    const { config, factory } = seedExample(4);
    const workflow = factory();
    const progress: forge.Progress[] = [];
    const remote = await forge.makeSession(server.url).request(config, workflow, { batchSize: 4, instances: 6, seed: 3, onProgress: (p) => progress.push(p) });
    const direct = await forge.makeSession(backend).request(config, workflow, { batchSize: 4, instances: 6, seed: 3 });

    expect(timeless(remote.run)).toEqual(timeless(direct.run));
    expect(remote.training_data).toEqual(direct.training_data);
    expect(Object.keys(remote)).toEqual(Object.keys(direct));
    for (const stream of remote.run.streams) {
      expect(stream.tokens).toBeInstanceOf(Int32Array);
      expect(stream.forced).toBeInstanceOf(Uint8Array);
    }
    expect(remote.run.meta.runId).not.toBe(direct.run.meta.runId);
    expect(progress.at(-1)).toMatchObject({ finished: true, streamsDone: 6, streams: 6 });
    expect(progress.at(-1)!.tokensPerSecond).toBeGreaterThan(0);
  });

  it("refuses a config whose zone tokens differ, like the direct session", async () => {
    const { factory } = seedExample(4);
    await expect(forge.makeSession(server.url).request({ zoneTokens: ["[A]", "[B]"] }, factory(), {})).rejects.toThrow(/zone tokens/);
  });

  it("reports a refusal as a RemoteError with the server's message", async () => {
    const workflow = seedExample(4).factory();
    const session = forge.makeSession(server.url, { tokenizer: "gpt2-deadbeef" });
    const error = await session.request(null, workflow, { batchSize: 2 }).catch((e) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect(error).toBeInstanceOf(forge.RequestError);
    expect(error).toMatchObject({ status: 422, code: "refused" });
    expect(error.message).toMatch(/prepared for tokenizer "gpt2-deadbeef", but this server's tokenizer is/);
    await expect(forge.makeSession(server.url).request(null, workflow, { batchSize: 100_000 })).rejects.toThrow(/batchSize = 100000 exceeds/);
  });

  it("names an unreachable server and a bad URL", async () => {
    const probe = createServer().listen(0, "127.0.0.1");
    await once(probe, "listening");
    const port = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve)); // a port nobody listens on
    await expect(forge.makeSession(`http://127.0.0.1:${port}`).request(null, seedExample(4).factory(), {})).rejects.toThrow(/cannot reach the Forge server: ECONNREFUSED/);
    expect(() => forge.makeSession("ftp://x")).toThrow(/must start with http/);
  });
});

describe("results, progress and jobs over HTTP", () => {
  it("serves a finished job as JSON (base64 or lists), Arrow IPC and an NDJSON event log", async () => {
    const client = new HttpClient(server.url);
    const workflow = seedExample(4).factory();
    const { id, state } = await client.enqueue(workflow, { batchSize: 3, seed: 1 });
    expect(["queued", "running"]).toContain(state);
    const run = await client.result(id);
    expect(run.streams).toHaveLength(3);

    const lists = await (await fetch(`${server.url}/jobs/${id}/result?arrays=list`)).json();
    expect(lists.streams[0].tokens).toEqual(Array.from(run.streams[0]!.tokens));

    const samples = tableFromIPC(await client.resultArrow(id, "samples"));
    expect(samples.numRows).toBe(3 * Object.keys(run.extractions).length);
    expect(samples.getChild("text")!.toArray()).toEqual(run.extractions.training_data);
    const paths = tableFromIPC(await client.resultArrow(id, "paths"));
    expect(paths.numRows).toBe(run.paths.flat().length);

    const events = (await (await fetch(`${server.url}/jobs/${id}/events`)).text()).trim().split("\n").map((l) => JSON.parse(l) as JobEvent);
    expect(events[0]).toMatchObject({ event: "state", state: "done" });
    expect(events.at(-1)).toMatchObject({ event: "end", state: "done", error: null });
    expect(events.some((e) => e.event === "progress" && e.finished)).toBe(true);

    expect((await client.job(id)).state).toBe("done");
    const missing = await fetch(`${server.url}/jobs/00000000-0000-0000-0000-000000000000`);
    expect(missing.status).toBe(404);
    expect((await fetch(`${server.url}/jobs/${id}/result?arrays=hex`)).status).toBe(400);
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
  });

  it("runs two clients' jobs one after the other (FIFO), both complete and match direct runs", async () => {
    const { config } = seedExample(4);
    const a = seedExample(4).factory();
    const b = seedExample(6).factory();
    const [ra, rb] = await Promise.all([
      forge.makeSession(server.url).request(config, a, { batchSize: 3, seed: 21 }),
      forge.makeSession(server.url).request(config, b, { batchSize: 2, seed: 22 }),
    ]);
    const [da, db] = [await backend.run(a, { batchSize: 3, seed: 21 }), await backend.run(b, { batchSize: 2, seed: 22 })];
    expect(timeless(ra.run)).toEqual(timeless(da));
    expect(timeless(rb.run)).toEqual(timeless(db));
    // Queued, not interleaved: one started after the other finished.
    const [first, second] = [ra.run.meta, rb.run.meta].sort((x, y) => x.startedAt.localeCompare(y.startedAt));
    expect(Date.parse(second!.startedAt)).toBeGreaterThanOrEqual(Date.parse(first!.startedAt) + first!.wallMs - 5);
  });

  it("cancels one client's job without touching the other's", async () => {
    const client = new HttpClient(server.url);
    const long = longWorkflow();
    const other = seedExample(4).factory();
    const abort = new AbortController();
    let reports = 0;
    const cancelled = client.submit(long, {
      batchSize: 4,
      seed: 5,
      signal: abort.signal,
      onProgress: () => ++reports === 1 && abort.abort(),
    });
    const queuedBehind = await client.enqueue(other, { batchSize: 2, seed: 6 });
    const early = await fetch(`${server.url}/jobs/${queuedBehind.id}/result`);
    expect([409, 200]).toContain(early.status);

    const run = await cancelled;
    expect(run.meta.interrupted).toBe(true);
    expect(run.streams.some((s) => s.status === "interrupted")).toBe(true);
    const otherRun = await client.result(queuedBehind.id);
    expect(timeless(otherRun)).toEqual(timeless(await backend.run(other, { batchSize: 2, seed: 6 })));
    expect((await client.job(queuedBehind.id)).state).toBe("done");
  });

  it("cancels a queued job at once: its streams come back interrupted, as with an aborted direct request", async () => {
    const client = new HttpClient(server.url);
    const running = await client.enqueue(longWorkflow(), { batchSize: 4, seed: 1 });
    const queued = await client.enqueue(seedExample(4).factory(), { batchSize: 2, seed: 2 });
    expect((await client.job(queued.id)).position).toBe(1);
    const summary = await client.cancel(queued.id);
    expect(["queued", "cancelled"]).toContain(summary.state);
    const run = await client.result(queued.id);
    expect(run.streams.map((s) => s.status)).toEqual(["interrupted", "interrupted"]);
    expect((await client.job(queued.id)).state).toBe("cancelled");
    await client.cancel(running.id);
    expect((await client.result(running.id)).meta.interrupted).toBe(true);
  });
});

describe("the server in process", () => {
  it("is itself a ForgeServer: a local session shares the queue and gets the direct results", async () => {
    const workflow = seedExample(4).factory();
    const progress: forge.Progress[] = [];
    const local = await forge.makeSession(server).request(null, workflow, { batchSize: 2, seed: 8, onProgress: (p) => progress.push(p) });
    expect(timeless(local.run)).toEqual(timeless(await backend.run(workflow, { batchSize: 2, seed: 8 })));
    expect(progress.at(-1)?.finished).toBe(true);
    expect((await server.info()).tokenizer).toBe(backend.tokenizer.identity);
  });
});

describe("queue limits", () => {
  it("answers 429 when the queue is full, and forgets the oldest finished jobs past maxRetainedJobs", async () => {
    const small = await forge.makeServer(backend, { address: "127.0.0.1:0", limits: { maxQueuedJobs: 1, maxRetainedJobs: 1 }, log: () => {} });
    try {
      const client = new HttpClient(small.url);
      const first = await client.enqueue(longWorkflow(), { batchSize: 2, seed: 1 });
      const full = await client.enqueue(seedExample(4).factory(), { batchSize: 2 }).catch((e) => e);
      expect(full).toMatchObject({ status: 429, code: "queue_full" });
      expect(full.message).toMatch(/limit 1/);
      await client.cancel(first.id);
      await client.result(first.id);
      const second = await client.enqueue(seedExample(4).factory(), { batchSize: 2, seed: 2 });
      await client.result(second.id);
      await expect(client.job(first.id)).rejects.toMatchObject({ status: 404 });
      expect((await client.job(second.id)).state).toBe("done");
    } finally {
      await small.close({ mode: "cancel" });
    }
  });
});

describe("auth", () => {
  const TOKEN = "forge-test-token-5f2a9c1e7d";
  const OTHER = "forge-other-token-88b1d0c4aa";
  let secured: HttpForgeServer;
  const log = memoryLog();

  beforeAll(async () => {
    const file = join(mkdtempSync(join(tmpdir(), "forge-srv-")), "tokens.txt");
    writeFileSync(file, `${TOKEN}\n${OTHER}\n`);
    secured = await forge.makeServer(backend, { address: "127.0.0.1:0", auth: { type: "bearer-file", payload: file }, log: log.log });
  });
  afterAll(() => secured?.close({ mode: "cancel" }));

  it("answers 401 to every route without valid credentials, learning nothing about jobs", async () => {
    const owner = new HttpClient(secured.url, { auth: { type: "bearer", payload: TOKEN } });
    const { id } = await owner.enqueue(seedExample(4).factory(), { batchSize: 2 });
    const unknown = "00000000-0000-0000-0000-000000000000";
    const answers = [];
    for (const [method, path] of [["GET", "/info"], ["GET", `/jobs/${id}`], ["GET", `/jobs/${unknown}`], ["GET", `/jobs/${id}/result`], ["POST", `/jobs/${id}/cancel`], ["POST", "/jobs"], ["GET", "/nope"]] as const) {
      for (const authorization of [undefined, "Bearer wrong-token-wrong-token", `Basic ${TOKEN}`]) {
        const response = await fetch(`${secured.url}${path}`, { method, headers: authorization ? { authorization } : {} });
        expect(response.status, `${method} ${path}`).toBe(401);
        expect(response.headers.get("www-authenticate")).toBe('Bearer realm="forge"');
        answers.push(await response.text());
      }
    }
    expect(new Set(answers).size).toBe(1); // the same answer whether the job exists or not
    expect(answers[0]).not.toContain(TOKEN);
    expect((await fetch(`${secured.url}/health`)).status).toBe(200);
    expect(log.lines[0]).toMatch(/auth: bearer-file/);

    // With the token: the job's owner sees it; another valid principal does not.
    expect((await owner.result(id)).streams).toHaveLength(2);
    const stranger = new HttpClient(secured.url, { auth: { type: "bearer", payload: OTHER } });
    await expect(stranger.job(id)).rejects.toMatchObject({ status: 404 });
    expect((await stranger.info()).auth).toBe("bearer-file");
  });

  it("runs a remote session with credentials, and refuses one with a wrong token", async () => {
    const workflow = seedExample(4).factory();
    const ok = await forge.makeSession(secured.url, { auth: { type: "bearer", payload: TOKEN } }).request(null, workflow, { batchSize: 2, seed: 4 });
    expect(timeless(ok.run)).toEqual(timeless(await backend.run(workflow, { batchSize: 2, seed: 4 })));
    const refused = await forge.makeSession(secured.url, { auth: { type: "bearer", payload: "not-the-token-at-all-00" } }).request(null, workflow, {}).catch((e) => e);
    expect(refused).toMatchObject({ status: 401, code: "unauthorized" });
  });
});

describe("shutdown", () => {
  it("drains: queued and running jobs finish, waiting clients get their results, new jobs get 503", async () => {
    const draining = await forge.makeServer(backend, { address: "127.0.0.1:0", log: () => {} });
    const client = new HttpClient(draining.url);
    const workflow = seedExample(4).factory();
    const jobs = [await client.enqueue(workflow, { batchSize: 2, seed: 1 }), await client.enqueue(workflow, { batchSize: 2, seed: 2 })];
    const waiting = jobs.map((job) => client.result(job.id));
    const closed = draining.close();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await expect(client.enqueue(workflow, { batchSize: 2 })).rejects.toMatchObject({ status: 503 });
    const runs = await Promise.all(waiting);
    expect(runs.map((r) => r.meta.interrupted)).toEqual([false, false]);
    const finished = await closed;
    expect(finished.map((j) => j.state)).toEqual(["done", "done"]);
    expect(finished.map((j) => j.run!.meta.seed)).toEqual([1, 2]);
    await expect(client.health()).rejects.toMatchObject({ code: "unreachable" });
  });

  it("cancels: the running job keeps its partial Run, queued ones end cancelled, finished results are kept", async () => {
    const cancelling = await forge.makeServer(backend, { address: "127.0.0.1:0", log: () => {} });
    const client = new HttpClient(cancelling.url);
    const done = await client.enqueue(seedExample(4).factory(), { batchSize: 2, seed: 1 });
    await client.result(done.id);
    const running = await client.enqueue(longWorkflow(), { batchSize: 4, seed: 2 });
    const queued = await client.enqueue(seedExample(4).factory(), { batchSize: 2, seed: 3 });
    const waiting = client.result(running.id);
    await new Promise((resolve) => setTimeout(resolve, 50)); // let the result request reach the server
    const finished = await cancelling.close({ mode: "cancel" });
    expect(finished.map((j) => [j.id, j.state])).toEqual([
      [done.id, "done"],
      [running.id, "cancelled"],
      [queued.id, "cancelled"],
    ]);
    expect(finished[0]!.run!.meta.interrupted).toBe(false);
    expect((await waiting).meta.interrupted).toBe(true);
  });
});
