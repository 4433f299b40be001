/** Admission of untrusted POST /jobs bodies: every refusal is a 4xx naming the field. */
import { beforeAll, describe, expect, it } from "vitest";
import type * as forge from "../../../../forge/index.js";
import { admitRequest, wireOptions, HttpError, parseAddress, isLoopback, resolveLimits, type ServerLimits } from "../../../../forge/transport/http/index.js";
import { parseWireOptions, requestOptionsSchema, RequestOptionsError, WIRE_OPTION_KEYS } from "../../../../forge/engine/options.js";
import { seedExample, testBackend } from "./helpers.js";

let backend: forge.ForgeBackend;
let limits: ServerLimits;
let workflow: forge.SzcpWorkflow;

beforeAll(async () => {
  backend = await testBackend();
  limits = resolveLimits(backend.info().contextLength, { maxBatchSize: 64, maxInstances: 128, maxTotalTokens: 100_000 });
  workflow = seedExample(4).factory();
});

function refusal(body: unknown): HttpError {
  try {
    admitRequest(body, backend, limits);
  } catch (err) {
    if (err instanceof HttpError) return err;
    throw err;
  }
  throw new Error("admitted");
}

describe("admitRequest", () => {
  it("admits a valid body and returns the canonical workflow and options", () => {
    const admitted = admitRequest(JSON.parse(JSON.stringify({ workflow, options: { batchSize: 4, seed: 9, topP: 0.9 } })), backend, limits);
    expect(admitted.workflow).toEqual(workflow);
    expect(admitted.options).toEqual({ batchSize: 4, seed: 9, topP: 0.9 });
  });

  it("carries every engine option across the wire, and refuses one of the wrong type", () => {
    const engine = { prefill: false, continuousBatching: false, shrinkBatch: false, feedChunk: 8, automaton: "host" } as const;
    const sent = wireOptions({ ...engine, batchSize: 2, onProgress: () => {} });
    expect(sent).toEqual({ ...engine, batchSize: 2 });
    expect(admitRequest(JSON.parse(JSON.stringify({ workflow, options: sent })), backend, limits).options).toEqual(sent);
    expect(refusal({ workflow, options: { shrinkBatch: "yes" } }).message).toMatch(/\$\.options\.shrinkBatch/);
  });

  it("refuses the options the queue worker refuses, with the same schema and the same JSON path", () => {
    // One schema (forge/engine/options.ts) for every untrusted copy: an HTTP body here, any other through parseWireOptions
    // (the queue worker's job data: test/forge/transport/queue/job-codec.test.ts).
    for (const [options, where] of [
      [{ batchsize: 3 }, "$.options.batchsize"],
      [{ topP: 1.5 }, "$.options.topP"],
      [{ feedChunk: 65 }, "$.options.feedChunk"],
      [{ automaton: "gpu" }, "$.options.automaton"],
      [{ seed: -1 }, "$.options.seed"],
    ] as const) {
      const http = refusal({ workflow, options });
      expect(http.status).toBe(400);
      expect(http.details.path).toBe(where);
      let worker: unknown = null;
      try {
        parseWireOptions(options);
      } catch (err) {
        worker = err;
      }
      expect(worker).toBeInstanceOf(RequestOptionsError);
      expect((worker as RequestOptionsError).where).toBe(where);
    }
    // Every key the schema declares is a wire key, and nothing else is.
    expect(Object.keys(wireOptions({ batchSize: 1, signal: new AbortController().signal, firstInstance: 3, onProgress: () => {} }))).toEqual(["batchSize"]);
    expect([...WIRE_OPTION_KEYS]).toEqual(Object.keys(requestOptionsSchema.shape));
  });

  it("refuses malformed bodies with 400 and the JSON path", () => {
    expect(refusal([1, 2]).message).toMatch(/must be a JSON object/);
    expect(refusal({}).message).toMatch(/\$\.workflow: required/);
    expect(refusal({ workflow, extra: 1 })).toMatchObject({ status: 400, code: "invalid_request" });
    expect(refusal({ workflow, extra: 1 }).message).toMatch(/\$\.extra/);
    expect(refusal({ workflow, options: { batchSize: 0 } }).message).toMatch(/\$\.options\.batchSize/);
    expect(refusal({ workflow, options: { seed: -1 } }).message).toMatch(/\$\.options\.seed/);
    expect(refusal({ workflow, options: { signal: {} } }).message).toMatch(/\$\.options\.signal/);
    const bad = structuredClone(workflow) as unknown as { zones: { next: unknown }[] };
    bad.zones[2]!.next = "x";
    const error = refusal({ workflow: bad });
    expect(error).toMatchObject({ status: 400, code: "invalid_workflow" });
    expect(error.message).toMatch(/\$\.workflow\.zones\[2\]\.next/);
  });

  it("refuses requests over the limits with 422 saying which limit", () => {
    expect(refusal({ workflow, options: { batchSize: 65 } })).toMatchObject({ status: 422, code: "limit_exceeded" });
    expect(refusal({ workflow, options: { batchSize: 65 } }).message).toMatch(/options\.batchSize = 65 exceeds this server's limit of 64/);
    expect(refusal({ workflow, options: { instances: 129, batchSize: 8 } }).message).toMatch(/options\.instances = 129/);
    expect(refusal({ workflow, options: { maxTokens: 4096 } }).message).toMatch(/options\.maxTokens = 4096 exceeds .* 2048 tokens per stream/);
    expect(refusal({ workflow, options: { instances: 100, batchSize: 8, maxTokens: 2000 } }).message).toMatch(/instances × maxTokens = 100 × 2000/);
  });

  it("refuses a workflow prepared for another tokenizer, saying both identities", () => {
    const error = refusal({ workflow, tokenizer: "gpt2-0123abcd" });
    expect(error).toMatchObject({ status: 422, code: "refused" });
    expect(error.message).toContain(`prepared for tokenizer "gpt2-0123abcd", but this server's tokenizer is "${backend.info().tokenizer}"`);
    const tagged = { ...workflow, meta: { ...workflow.meta, tokenizer: "llama3-xyz" } };
    expect(refusal({ workflow: tagged }).message).toMatch(/prepared for tokenizer "llama3-xyz"/);
    expect(() => admitRequest({ workflow, tokenizer: backend.info().tokenizer }, backend, limits)).not.toThrow();
  });

  it("refuses what the backend cannot run (missing tool) with 422 and its reason", () => {
    const withTool = structuredClone(workflow);
    withTool.config.tools = ["search"];
    withTool.zones[1]!.capture = "search";
    const error = refusal({ workflow: withTool });
    expect(error).toMatchObject({ status: 422, code: "refused" });
    expect(error.message).toMatch(/tool\(s\) "search"/);
  });
});

describe("addresses", () => {
  it("parses host:port forms and defaults the host to loopback", () => {
    expect(parseAddress("127.0.0.1:0")).toEqual({ host: "127.0.0.1", port: 0 });
    expect(parseAddress(":8080")).toEqual({ host: "127.0.0.1", port: 8080 });
    expect(parseAddress("8080")).toEqual({ host: "127.0.0.1", port: 8080 });
    expect(parseAddress("[::1]:9")).toEqual({ host: "::1", port: 9 });
    expect(() => parseAddress("localhost")).toThrow(/must be "host:port"/);
    expect(() => parseAddress("h:70000")).toThrow(/must be "host:port"/);
    expect(isLoopback("127.0.0.1") && isLoopback("::1") && isLoopback("localhost")).toBe(true);
    expect(isLoopback("0.0.0.0") || isLoopback("10.0.0.1")).toBe(false);
  });
});
