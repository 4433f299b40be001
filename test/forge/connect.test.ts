/**
 * forge/connect.ts: makeServer / makeSession / defaultSession pick the server by what they are
 * given, as before the move (issue #16 item 1), and a mistake in their own arguments is a
 * ForgeError naming the call and the option, never a bare TypeError.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as forge from "../../forge/index.js";
import { HttpConfigError } from "../../forge/transport/http/index.js";
import { seedExample, testBackend } from "./transport/http/helpers.js";

let backend: forge.ForgeBackend;
beforeAll(async () => {
  backend = await testBackend();
});

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  return null;
}

describe("makeServer / makeSession", () => {
  it("gives a DirectServer for a backend, and a session on it that runs in process", async () => {
    const direct = forge.makeServer(backend);
    expect(direct).toBeInstanceOf(forge.DirectServer);
    expect(direct.address).toBeNull();
    expect(forge.makeServer(backend, { address: null })).toBeInstanceOf(forge.DirectServer);
    const session = forge.makeSession(backend);
    expect(session).toBeInstanceOf(forge.Session);
    expect(session.server).toBeInstanceOf(forge.DirectServer);
    const { config, factory } = seedExample(3);
    const result = await session.request(config, factory(), { batchSize: 2, seed: 4 });
    expect(result.run.streams.map((s) => s.instance)).toEqual([0, 1]);
    expect(Object.keys(result)).toEqual(factory().extractions.map((e) => e.name));
    expect(await forge.makeSession(direct).request(config, factory(), { batchSize: 2, seed: 4 })).toEqual(result);
  });

  it("gives an HttpClient for http(s) URLs and a QueueClient for redis(s) URLs, connecting to neither yet", () => {
    const http = forge.makeSession("http://127.0.0.1:9/", { tokenizer: "t" });
    expect(http.server).toBeInstanceOf(forge.HttpClient);
    expect(http.server.address).toBe("http://127.0.0.1:9");
    const queue = forge.makeSession("redis://:secret@127.0.0.1:9/2", { queue: "q" });
    expect(queue.server).toBeInstanceOf(forge.QueueClient);
    expect(queue.server.address).toBe("redis://:***@127.0.0.1:9/2");
  });

  it("refuses a URL it cannot use with an HttpConfigError naming the call", () => {
    for (const url of ["ftp://host/", "not a url"]) {
      const err = thrown(() => forge.makeSession(url));
      expect(err).toBeInstanceOf(HttpConfigError);
      expect(err).toBeInstanceOf(forge.ForgeError);
      expect((err as HttpConfigError).code).toBe("http_config");
      expect((err as HttpConfigError).where).toBe("makeSession(url)");
    }
  });

  it("refuses a bad address or limit for the HTTP server with an HttpConfigError naming the option", async () => {
    await expect(forge.makeServer(backend, { address: "nowhere:port", log: () => {} })).rejects.toMatchObject({ code: "http_config", where: "makeServer(options.address)" });
    await expect(forge.makeServer(backend, { address: "127.0.0.1:0", limits: { maxBatchSize: 0 }, log: () => {} })).rejects.toMatchObject({
      code: "http_config",
      where: "makeServer(options.limits.maxBatchSize)",
    });
    await expect(forge.makeServer(backend, { address: "0.0.0.0:0", log: () => {} })).rejects.toBeInstanceOf(HttpConfigError);
  });

  it("refuses an unknown backend type with a BackendConfigError", async () => {
    await expect(forge.makeBackend(undefined, undefined, { type: "gpu-cluster" as never })).rejects.toMatchObject({
      name: "BackendConfigError",
      code: "backend_config",
      where: "makeBackend(options.type)",
    });
    await expect(forge.makeBackend(undefined, undefined, { type: "gpu-cluster" as never })).rejects.toBeInstanceOf(forge.BackendConfigError);
  });
});

describe("an HTTP server from makeServer", () => {
  let server: forge.HttpForgeServer;
  beforeAll(async () => {
    server = await forge.makeServer(backend, { address: "127.0.0.1:0", log: () => {} });
  });
  afterAll(() => server?.close());

  it("serves what a direct session computes: same Run body through makeSession(url)", async () => {
    const { config, factory } = seedExample(3);
    const workflow = factory();
    const direct = await forge.makeSession(backend).request(config, workflow, { batchSize: 2, seed: 6 });
    const remote = await forge.makeSession(server.url).request(config, workflow, { batchSize: 2, seed: 6 });
    expect(remote.run.streams).toEqual(direct.run.streams);
    expect({ ...remote }).toEqual({ ...direct });
    expect(remote.run.meta.sharedPrefixTokens).toBe(direct.run.meta.sharedPrefixTokens);
  });
});
