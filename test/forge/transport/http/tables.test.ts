/**
 * result.arrow's tables come from the datasets layer, which forge does not import: a server
 * in a process that has not loaded it answers 501 not_available saying how to enable it; one
 * given `resultTables` uses them; once datasets/ is loaded (it registers its builders), every
 * server serves the tables, including one started before.
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
});
