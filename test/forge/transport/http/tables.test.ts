/**
 * result.arrow's tables come from the datasets layer, which forge does not import: a server
 * in a process that has not loaded it answers 501 not_available saying how to enable it; one
 * given `resultTables` uses them; once datasets/ is loaded (it registers its builders), every
 * server serves the tables, including one started before. A whole tokens or decisions table
 * over limits.maxInlineTableRows is refused 422 (one stream at a time still served).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tableFromIPC } from "apache-arrow";
import * as forge from "../../../../forge/index.js";
import { HttpClient, RemoteError, registeredResultTables, type HttpForgeServer, type ResultTables } from "../../../../forge/transport/http/index.js";
import { seedExample, testBackend } from "./helpers.js";

let backend: forge.ForgeBackend;
const servers: HttpForgeServer[] = [];
beforeAll(async () => {
  backend = await testBackend();
});
afterAll(() => Promise.all(servers.map((s) => s.close())));

async function serve(options: { resultTables?: ResultTables } = {}): Promise<{ client: HttpClient; id: string }> {
  const server = await forge.makeServer(backend, { address: "127.0.0.1:0", log: () => {}, ...options });
  servers.push(server);
  const client = new HttpClient(server.url);
  const { id } = await client.enqueue(seedExample(3).factory(), { batchSize: 2, seed: 1 });
  await client.result(id);
  return { client, id };
}

describe("result.arrow's table builders", () => {
  it("answers 501 not_available while no datasets layer is loaded, and serves once one registers", async () => {
    expect(registeredResultTables()).toBeNull(); // this test file has not loaded datasets/
    const { client, id } = await serve();
    const refused = await client.resultArrow(id).then(
      () => null,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(RemoteError);
    expect(refused).toMatchObject({ status: 501, code: "not_available" });
    expect((refused as Error).message).toMatch(/load the datasets layer .* or pass makeServer\(backend, \{ resultTables \}\)/);

    // Given its own builders, a server uses them.
    const datasets = await import("../../../../datasets/index.js");
    const calls: string[] = [];
    const own: ResultTables = {
      samples: (run, tokenizer) => (calls.push("samples"), datasets.samplesTable(run, tokenizer)),
      paths: (run) => (calls.push("paths"), datasets.pathsTable(run)),
    };
    const injected = await serve({ resultTables: own });
    expect(tableFromIPC(await injected.client.resultArrow(injected.id, "paths")).numRows).toBeGreaterThan(0);
    expect(calls).toEqual(["paths"]);

    // Loading datasets/ registered its builders: the first server, started before, now serves too.
    expect(registeredResultTables()).not.toBeNull();
    const samples = tableFromIPC(await client.resultArrow(id, "samples"));
    expect(samples.numRows).toBe(2);
  });

  it("serves a job's tokens and decisions tables, whole or one stream at a time; says which stream or table is not there", async () => {
    await import("../../../../datasets/index.js"); // registers the builders
    const server = await forge.makeServer(backend, { address: "127.0.0.1:0", log: () => {} });
    servers.push(server);
    const client = new HttpClient(server.url);
    const { id } = await client.enqueue(seedExample(3).factory(), { batchSize: 2, instances: 3, seed: 4, logprobs: { top: 2 } });
    const run = await client.result(id);

    const tokens = tableFromIPC(await client.resultArrow(id, "tokens"));
    expect(tokens.numRows).toBe(run.streams.reduce((n, s) => n + s.tokens.length, 0));
    const one = tableFromIPC(await client.resultArrow(id, "tokens", 1));
    const stream1 = run.streams.find((s) => s.instance === 1)!;
    expect(one.numRows).toBe(stream1.tokens.length);
    expect(Array.from(one.getChild("stream")!.toArray())).toEqual(Array(stream1.tokens.length).fill(1));
    expect(Int32Array.from(one.getChild("token")!.toArray())).toEqual(stream1.tokens);
    // Text from the server's tokenizer: the pieces joined are the stream's text.
    expect((one.getChild("text")!.toArray() as string[]).join("")).toBe(backend.tokenizer.decode(Array.from(stream1.tokens)));
    const generated = stream1.forced.findIndex((f) => f === 0);
    expect(one.getChild("logprob")!.get(generated)).toBeCloseTo(stream1.logprobs!.model[generated]!, 5);
    expect(Array.from(one.getChild("top_ids")!.get(generated)!.toArray())).toEqual(Array.from(stream1.logprobs!.top!.ids.subarray(generated * 2, generated * 2 + 2)));

    const decisions = tableFromIPC(await client.resultArrow(id, "decisions", 1));
    const expected = run.decisions!.filter((d) => d.instance === 1);
    expect(expected.length).toBeGreaterThan(0);
    expect(Array.from(decisions.getChild("step")!.toArray())).toEqual(expected.map((d) => d.step));
    expect(tableFromIPC(await client.resultArrow(id, "decisions")).numRows).toBe(run.decisions!.length);

    const refusal = (p: Promise<unknown>) => p.then(() => null, (err: unknown) => err as RemoteError);
    expect(await refusal(client.resultArrow(id, "tokens", 7))).toMatchObject({ status: 404, code: "not_found", message: expect.stringMatching(/has no stream 7 \(its instances are 0, 1, 2\)/) });
    expect(await refusal(client.resultArrow(id, "samples", 1))).toMatchObject({ status: 400, message: expect.stringMatching(/stream selects one stream of the tokens or decisions table, not of samples/) });
    const bad = await fetch(`${server.url}/jobs/${id}/result.arrow?table=tokens&stream=-1`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/query stream must be an instance number/);
    const plain = await client.enqueue(seedExample(3).factory(), { batchSize: 2, instances: 2, seed: 4 });
    await client.result(plain.id);
    expect(await refusal(client.resultArrow(plain.id, "decisions"))).toMatchObject({ status: 404, message: expect.stringMatching(/ran without logprobs/) });
    expect(tableFromIPC(await client.resultArrow(plain.id, "tokens", 0)).getChild("logprob")!.nullCount).toBeGreaterThan(0);
  });

  it("refuses a whole tokens or decisions table over limits.maxInlineTableRows with 422, naming the limit; one stream still served", async () => {
    await import("../../../../datasets/index.js");
    const server = await forge.makeServer(backend, { address: "127.0.0.1:0", log: () => {}, limits: { maxInlineTableRows: 40 } });
    servers.push(server);
    const client = new HttpClient(server.url);
    expect((await client.info()).limits.maxInlineTableRows).toBe(40);
    const { id } = await client.enqueue(seedExample(3).factory(), { batchSize: 2, instances: 3, seed: 4, logprobs: true });
    const run = await client.result(id);
    const tokens = run.streams.reduce((n, s) => n + s.tokens.length, 0);
    const longest = Math.max(...run.streams.map((s) => s.tokens.length));
    expect(tokens).toBeGreaterThan(40); // the whole table is over the bound…
    expect(longest).toBeGreaterThan(0);
    const refusal = (p: Promise<unknown>) => p.then(() => null, (err: unknown) => err as RemoteError);
    const refused = await refusal(client.resultArrow(id, "tokens"));
    expect(refused).toBeInstanceOf(RemoteError);
    expect(refused).toMatchObject({ status: 422, code: "limit_exceeded", details: { limit: { name: "limits.maxInlineTableRows", value: 40 } } });
    expect(refused!.message).toContain(`tokens table has ${tokens} rows, more than this server's limit of 40`);
    expect(refused!.message).toContain("?table=tokens&stream=<instance>");
    // One stream is not held to the whole-table bound (it is bounded by maxTokens).
    const stream0 = run.streams.find((s) => s.instance === 0)!;
    expect(tableFromIPC(await client.resultArrow(id, "tokens", 0)).numRows).toBe(stream0.tokens.length);
    // The decisions table has fewer rows than the bound: served whole.
    expect(run.decisions!.length).toBeGreaterThan(0);
    expect(run.decisions!.length).toBeLessThanOrEqual(40);
    const estimated = tableFromIPC(await client.resultArrow(id, "decisions"));
    expect(estimated.numRows).toBe(run.decisions!.length);
    expect(Array.from(estimated.getChild("exact")!.toArray() as Iterable<boolean>)).toEqual(run.decisions!.map(() => false)); // logprobs: true
    // The same job with exact decisions: every row's pJump exact, the trace unchanged.
    const exactJob = await client.enqueue(seedExample(3).factory(), { batchSize: 2, instances: 3, seed: 4, logprobs: { decisions: "exact" } });
    const exactRun = await client.result(exactJob.id);
    expect(exactRun.streams.map((s) => Array.from(s.tokens))).toEqual(run.streams.map((s) => Array.from(s.tokens)));
    const exact = tableFromIPC(await client.resultArrow(exactJob.id, "decisions"));
    expect(exact.numRows).toBe(run.decisions!.length);
    expect(Array.from(exact.getChild("exact")!.toArray() as Iterable<boolean>)).toEqual(run.decisions!.map(() => true));
    // At the bound exactly: served; one row over: refused.
    const atBound = await forge.makeServer(backend, { address: "127.0.0.1:0", log: () => {}, limits: { maxInlineTableRows: tokens } });
    servers.push(atBound);
    const second = new HttpClient(atBound.url);
    const again = await second.enqueue(seedExample(3).factory(), { batchSize: 2, instances: 3, seed: 4, logprobs: true });
    const rerun = await second.result(again.id);
    expect(rerun.streams.reduce((n, s) => n + s.tokens.length, 0)).toBe(tokens); // same seed, same run
    expect(tableFromIPC(await second.resultArrow(again.id, "tokens")).numRows).toBe(tokens);
    const overByOne = await forge.makeServer(backend, { address: "127.0.0.1:0", log: () => {}, limits: { maxInlineTableRows: tokens - 1 } });
    servers.push(overByOne);
    const third = new HttpClient(overByOne.url);
    const job = await third.enqueue(seedExample(3).factory(), { batchSize: 2, instances: 3, seed: 4, logprobs: true });
    await third.result(job.id);
    expect(await refusal(third.resultArrow(job.id, "tokens"))).toMatchObject({ status: 422, code: "limit_exceeded" });
    expect(await refusal(third.resultArrow(job.id, "decisions", 0))).toBeNull();
  });

  it("refuses a bad maxInlineTableRows at start, naming the field", async () => {
    await expect(forge.makeServer(backend, { address: "127.0.0.1:0", log: () => {}, limits: { maxInlineTableRows: 0 } })).rejects.toThrow(/options\.limits\.maxInlineTableRows.*positive integer/);
  });
});
