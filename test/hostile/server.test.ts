/**
 * Issue #15, items 1–5 (server / SZCP hardening), and #16 item 8 (compile once), over real
 * HTTP on 127.0.0.1 with the real engine on a small random model. Each `describe` fails on
 * the code before the fix:
 *   1. size-like SZCP fields were unbounded (counters 1e15 → 500 "Invalid typed array length");
 *   2. a long control token held the event loop for seconds at admission;
 *   3. an extraction named "__proto__" vanished from the results;
 *   4. a body of 5 MB+ got a broken pipe instead of the 413;
 *   5. the loopback check refused 127.1 and LOCALHOST;
 *   #16/8. the workflow was compiled twice per request.
 * Request loops are bounded; every request has a timeout.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as forge from "../../forge/index.js";
import { SZCP_LIMITS, deserializeWorkflow, type SzcpWorkflow } from "../../forge/szcp/index.js";
import { loadGpt2Tokenizer } from "../../forge/tokenizer/index.js";
import { compileCacheStats } from "../../forge/ttfa/index.js";
import { RemoteError, HttpClient, isLoopback, type HttpForgeServer } from "../../forge/transport/http/index.js";
import { memoryLog, seedExample, testBackend } from "../forge/transport/http/helpers.js";

let backend: forge.ForgeBackend;
let server: HttpForgeServer;
const log = memoryLog();
const workflow = seedExample(4).factory();

beforeAll(async () => {
  backend = await testBackend();
  server = await forge.makeServer(backend, { address: "127.0.0.1:0", log: log.log });
});
afterAll(() => server?.close({ mode: "cancel" }));

type Body = { workflow: SzcpWorkflow & Record<string, any>; options: Record<string, unknown> };
const body = (change: (b: Body) => void = () => {}): string => {
  const b = structuredClone({ workflow, options: { batchSize: 2, instances: 2, maxTokens: 64 } }) as Body;
  change(b);
  return JSON.stringify(b);
};
interface Answer {
  status: number;
  ms: number;
  text: string;
  error?: { status: number; code: string; message: string; path?: string; limit?: { name: string; value: number } };
  id?: string;
}
async function post(payload: string | Buffer, timeoutMs = 10_000): Promise<Answer> {
  const started = performance.now();
  const response = await fetch(`${server.url}/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: payload as BodyInit,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  const json = JSON.parse(text) as { error?: Answer["error"]; id?: string };
  return { status: response.status, ms: performance.now() - started, text, error: json.error, id: json.id };
}
/** A 4xx naming the field's JSON path and the limit, without a stack trace. */
function expectOverLimit(answer: Answer, path: string, limit: keyof typeof SZCP_LIMITS): void {
  expect(answer.status, answer.text).toBe(422);
  expect(answer.error).toMatchObject({ code: "limit_exceeded", path, limit: { name: `SZCP_LIMITS.${limit}`, value: SZCP_LIMITS[limit] } });
  expect(answer.error!.message).toContain(path);
  expect(answer.error!.message).toContain(`SZCP_LIMITS.${limit} = ${SZCP_LIMITS[limit]}`);
  expect(answer.text).not.toMatch(/\n\s+at /);
}

describe("item 1: every size-like SZCP field is bounded", () => {
  it("refuses counters over the limit at admission, naming the field and the limit (was 202, then 500 job_failed)", async () => {
    // 1e15 first: the old code accepted it and failed the job at once; it ran 2e9 until 19.5 GB.
    for (const counters of [1e15, 2e9, 1e8]) expectOverLimit(await post(body((b) => (b.workflow.counters = counters))), "$.workflow.counters", "maxCounters");
    expectOverLimit(await post(body((b) => (b.workflow.counters = SZCP_LIMITS.maxCounters + 1))), "$.workflow.counters", "maxCounters");
  });

  it("refuses zone sizes, counts and texts over their limits", async () => {
    const loopZone = workflow.zones.findIndex((z) => z.loop);
    const cases: Array<[(b: Body) => void, string, keyof typeof SZCP_LIMITS]> = [
      [(b) => (b.workflow.zones[0]!.maxGen = 1e15), "$.workflow.zones[0].maxGen", "maxCount"],
      [(b) => (b.workflow.zones[loopZone]!.loop!.max = 1e15), `$.workflow.zones[${loopZone}].loop.max`, "maxCount"],
      [(b) => (b.workflow.zones[0]!.block = 2 ** 40), "$.workflow.zones[0].block", "maxCount"],
      [(b) => (b.workflow.zones[0]!.repetition = 2 ** 31), "$.workflow.zones[0].repetition", "maxCount"],
      [(b) => (b.workflow.zones[0]!.text = "[P]" + "x".repeat(SZCP_LIMITS.maxTextLength)), "$.workflow.zones[0].text", "maxTextLength"],
      [(b) => (b.workflow.zones[0]!.tags = Array.from({ length: SZCP_LIMITS.maxTags + 1 }, (_, i) => `t${i}`)), "$.workflow.zones[0].tags", "maxTags"],
      [(b) => (b.workflow.extractions = Array.from({ length: SZCP_LIMITS.maxExtractions + 1 }, (_, i) => ({ name: `e${i}`, tags: ["answer"] }))), "$.workflow.extractions", "maxExtractions"],
      [(b) => (b.workflow.config.zoneTokens = Array.from({ length: SZCP_LIMITS.maxZoneTokens + 1 }, (_, i) => `<z${i}>`)), "$.workflow.config.zoneTokens", "maxZoneTokens"],
      [(b) => (b.workflow.meta = Object.fromEntries(Array.from({ length: SZCP_LIMITS.maxRecordEntries + 1 }, (_, i) => [`k${i}`, "v"]))), "$.workflow.meta", "maxRecordEntries"],
    ];
    for (const [change, path, limit] of cases) expectOverLimit(await post(body(change)), path, limit);
  });

  it("hands the path and the limit to a remote client (RemoteError.details)", async () => {
    const hostile = structuredClone(workflow);
    hostile.counters = 1e15;
    const err = await new HttpClient(server.url).enqueue(hostile, { batchSize: 2 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).details).toEqual({ path: "$.workflow.counters", limit: { name: "SZCP_LIMITS.maxCounters", value: SZCP_LIMITS.maxCounters } });
  });

  it("checks the total of the trigger patterns (the trigger table's rows)", async () => {
    const answer = await post(
      body((b) => {
        const long = (c: string) => `[${c.repeat(SZCP_LIMITS.maxPatternBytes - 2)}]`;
        b.workflow.config.controlToken = long("J");
        b.workflow.config.escape = { kind: "pair", open: long("O"), close: long("C") };
        b.workflow.config.zoneTokens = [long("P"), long("A"), "[E]"];
        for (const z of b.workflow.zones) z.advance = b.workflow.config.zoneTokens[z.zone + 1]!;
      }),
    );
    expectOverLimit(answer, "$.workflow.config", "maxPatternTotalBytes");
  });

  it("still runs a workflow at the limits it uses (counters = maxCounters)", async () => {
    const answer = await post(body((b) => (b.workflow.counters = SZCP_LIMITS.maxCounters)));
    expect(answer.status, answer.text).toBe(202);
    const run = await (await fetch(`${server.url}/jobs/${answer.id}/result?wait=true`, { signal: AbortSignal.timeout(30_000) })).json();
    expect(run.streams).toHaveLength(2);
  });
});

describe("item 2: long trigger patterns cannot hold the event loop", () => {
  const hostileControl = () => body((b) => (b.workflow.config.controlToken = "[" + "J".repeat(195_000) + "]"));

  it("refuses a 195 KB control token at once, naming the field and the limit (was 10 s, then 202)", async () => {
    const answer = await post(hostileControl(), 5_000);
    expectOverLimit(answer, "$.workflow.config.controlToken", "maxPatternBytes");
    expect(answer.ms).toBeLessThan(3_000);
    // Bytes, not characters: 22 × "é" is 44 characters' worth of UTF-8 bytes in 22 characters.
    const wide = await post(body((b) => (b.workflow.config.controlToken = "é".repeat(SZCP_LIMITS.maxPatternBytes / 2 + 1))));
    expectOverLimit(wide, "$.workflow.config.controlToken", "maxPatternBytes");
  });

  it("answers /health promptly while 20 hostile admissions are in flight", async () => {
    const payload = hostileControl();
    await post(payload); // warm
    const admissions = Array.from({ length: 20 }, () => post(payload, 30_000));
    let settled = false;
    void Promise.allSettled(admissions).then(() => (settled = true));
    const latencies: number[] = [];
    for (let probe = 0; probe < 200 && (!settled || latencies.length < 5); probe++) {
      const started = performance.now();
      const health = await fetch(`${server.url}/health`, { signal: AbortSignal.timeout(5_000) });
      expect(health.status).toBe(200);
      latencies.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    for (const answer of await Promise.all(admissions)) expect(answer.status).toBe(422);
    // The goal is 100 ms; this shared 2-core machine (load 5–15) adds its own stalls, so the
    // test holds a bound the old code missed by two orders of magnitude (10–20 s).
    expect(Math.max(...latencies)).toBeLessThan(1_500);
  });
});

describe("item 3: user-named keys cannot be prototype keys", () => {
  it("refuses an extraction named __proto__ over HTTP (was accepted, and the extraction vanished)", async () => {
    const answer = await post(body((b) => (b.workflow.extractions = [{ name: "__proto__", tags: ["answer"] }])));
    expect(answer.status).toBe(400);
    expect(answer.error).toMatchObject({ code: "invalid_workflow", path: "$.workflow.extractions[0].name" });
    expect(answer.error!.message).toMatch(/"__proto__" is reserved/);
  });

  it("refuses extract(\"__proto__\") and extract(\"run\") in process, at the call site", () => {
    for (const name of ["__proto__", "run"]) {
      const { config, factory: _ } = seedExample(4);
      const { sequences } = forge.parseUdpl(
        `[config]\nzone_tokens = ["[P]", "[A]", "[E]"]\nrequired_tokens = ["[P]"]\nsequences = ["s"]\nvalid_tags = ["answer"]\ncontrol_token = "[J]"\n\n[[s]]\ntext = "[P]Hi[A]"\ntags = [[], ["answer"]]\n`,
        { file: "t.toml" },
      );
      const program = forge.newProgram(sequences, {}, { ...config, sequences: ["s"] });
      program.run("s");
      // Refused where it is written: extract() itself throws (SFCS checks names as they are given), naming its call site.
      expect(() => program.extract(name, ["answer"])).toThrow(new RegExp(`program\\.extract\\(${JSON.stringify(name).replace(/[_]/g, "_")}\\) at test/hostile/server\\.test\\.ts:\\d+:\\d+: the extraction name "${name}" is reserved`, "s"));
      expect(() => program.extract(name, ["answer"])).toThrow(forge.SfcsError);
    }
  });

  it("refuses __proto__ as a meta key and prototype names as tools, instead of dropping or finding them", () => {
    const text = JSON.stringify(workflow).replace(/"meta":\{/, '"meta":{"__proto__":"x",');
    expect(() => deserializeWorkflow(text)).toThrow(/at \$\.meta\.__proto__: the key "__proto__" is reserved/);
    const tools = structuredClone(workflow);
    tools.config.tools = ["toString"];
    expect(() => deserializeWorkflow(tools)).toThrow(/at \$\.config\.tools\[0\]: "toString" is reserved/);
  });
});

describe("item 4: a body over the limit gets its 413", () => {
  it("answers 413 (not a broken pipe) to bodies of 5 to 10 MB", async () => {
    // A client uploading at its own pace (64 KiB chunks, content-length set), and whole strings.
    // The old server answered at the headers and closed while the client was still sending:
    // the streamed uploads always got EPIPE, the strings now and then.
    const streamed = (bytes: number): ReadableStream<Uint8Array> => {
      let sent = 0;
      return new ReadableStream({
        async pull(controller) {
          if (sent >= bytes) return controller.close();
          const n = Math.min(65_536, bytes - sent);
          sent += n;
          controller.enqueue(new Uint8Array(n).fill(120));
          await new Promise((resolve) => setTimeout(resolve, 1));
        },
      });
    };
    const send = async (megabytes: number, stream: boolean): Promise<Answer | string> => {
      const bytes = megabytes * 1_000_000;
      try {
        const response = await fetch(`${server.url}/jobs`, {
          method: "POST",
          headers: { "content-type": "application/json", "content-length": String(bytes) },
          body: stream ? streamed(bytes) : "x".repeat(bytes),
          signal: AbortSignal.timeout(30_000),
          duplex: "half",
        } as RequestInit);
        const text = await response.text();
        return { status: response.status, ms: 0, text, error: JSON.parse(text).error };
      } catch (err) {
        return `${megabytes} MB: ${(err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).message}`;
      }
    };
    const answers: Array<Answer | string> = [];
    for (const megabytes of [5, 6, 10]) answers.push(await send(megabytes, true));
    for (const megabytes of [5, 8, 10]) answers.push(await send(megabytes, false));
    expect(answers.map((a) => (typeof a === "string" ? a : a.status))).toEqual([413, 413, 413, 413, 413, 413]);
    for (const answer of answers as Answer[])
      expect(answer.error).toMatchObject({ code: "payload_too_large", limit: { name: "limits.maxBodyBytes", value: 4 * 1024 * 1024 } });
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });
});

describe("item 5: loopback is parsed, not matched", () => {
  it("knows loopback in every spelling, and nothing else", () => {
    for (const host of ["127.1", "127.0.0.1", "127.255.0.9", "0x7f.0.0.1", "2130706433", "LOCALHOST", "Localhost", "localhost.", "api.localhost", "::1", "0:0:0:0:0:0:0:1", "[::1]", "::ffff:127.0.0.1"])
      expect(isLoopback(host), host).toBe(true);
    for (const host of ["0.0.0.0", "10.0.0.1", "128.0.0.1", "127.0.0.1.example.com", "localhost.example.com", "::", "::ffff:10.0.0.1", "", "example.com"])
      expect(isLoopback(host), host).toBe(false);
  });

  it("serves on 127.1 and LOCALHOST without auth, and still refuses 0.0.0.0", async () => {
    const short = await forge.makeServer(backend, { address: "127.1:0", log: () => {} });
    try {
      expect(short.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await fetch(`${short.url}/health`, { signal: AbortSignal.timeout(5_000) })).status).toBe(200);
    } finally {
      await short.close();
    }
    const named = await forge.makeServer(backend, { address: "LOCALHOST:0", log: () => {} });
    await named.close();
    await expect(forge.makeServer(backend, { address: "0.0.0.0:0", log: () => {} })).rejects.toThrow(/reachable from other machines, and no auth is configured/);
  });
});

describe("issue #16 item 8: one compile per request", () => {
  it("compiles a workflow once for admission and run together", async () => {
    const fresh = body((b) => (b.workflow.meta = { ...b.workflow.meta, nonce: String(Math.random()) }));
    const before = compileCacheStats();
    const answer = await post(fresh);
    expect(answer.status).toBe(202);
    await (await fetch(`${server.url}/jobs/${answer.id}/result?wait=true`, { signal: AbortSignal.timeout(30_000) })).json();
    const after = compileCacheStats();
    expect(after.misses - before.misses).toBe(1);
    expect(after.hits - before.hits).toBeGreaterThanOrEqual(1);
  });
});

describe("session 7: a constrained zone's automaton is bounded in work, not only in states", () => {
  it("refuses a 14-character regex of nested repetitions in about a second, naming the zone, with the event loop held at most that long (was 19–25 s held)", async () => {
    const constrained = body((b) => {
      const zone = b.workflow.zones.findIndex((z: { maxGen: number }) => z.maxGen > 0);
      b.workflow.zones[zone].constraint = { kind: "regex", pattern: "(.{0,100}){10}" };
    });
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const answer = await post(constrained, 60_000);
    delay.disable();
    expect(answer.status, answer.text).toBe(422);
    expect(answer.error!.message).toMatch(/zones\[\d+\] \([^)]*\)\.constraint: building the constraint's automaton takes more than REGEX_LIMITS\.maxSubsetWork = 16777216 steps/);
    expect(answer.text).not.toMatch(/\n\s+at /);
    // The bound stops the construction within ~1 s (0.5–0.9 s alone); the shared machine adds its stalls.
    expect(delay.max / 1e6).toBeLessThan(4_000);
  });
});

describe("session 7: requests being admitted count against maxQueuedJobs, refused on arrival", () => {
  it("answers 429 at once to POSTs past the bound while admissions are in flight, naming the limit (they waited for every admission before them)", async () => {
    const small = await forge.makeServer(backend, { address: "127.0.0.1:0", log: () => {}, limits: { maxQueuedJobs: 3 } });
    try {
      // Each admission takes ~0.5–1 s (a regex refused on its work bound): 12 at once queued ~10 s of lane time.
      const slow = body((b) => {
        const zone = b.workflow.zones.findIndex((z: { maxGen: number }) => z.maxGen > 0);
        b.workflow.zones[zone].constraint = { kind: "regex", pattern: "(.{0,100}){10}" };
      });
      const send = async () => {
        const started = performance.now();
        const response = await fetch(`${small.url}/jobs`, { method: "POST", headers: { "content-type": "application/json" }, body: slow, signal: AbortSignal.timeout(60_000) });
        const text = await response.text();
        return { status: response.status, ms: performance.now() - started, error: (JSON.parse(text) as { error: Answer["error"] }).error };
      };
      const answers = await Promise.all(Array.from({ length: 12 }, send));
      const refused = answers.filter((a) => a.status === 429);
      const admitted = answers.filter((a) => a.status === 422);
      expect(refused.length + admitted.length).toBe(12);
      expect(admitted.length).toBeGreaterThanOrEqual(3);
      expect(refused.length).toBeGreaterThanOrEqual(6);
      for (const a of refused) {
        expect(a.error).toMatchObject({ code: "queue_full", limit: { name: "limits.maxQueuedJobs", value: 3 } });
        expect(a.error!.message).toMatch(/requests being admitted, limit 3\); retry later/);
      }
      // Refused on arrival: before the slowest admission ended, not after all of them.
      expect(Math.max(...refused.map((a) => a.ms))).toBeLessThan(Math.max(...admitted.map((a) => a.ms)));
      // The bound frees as admissions end: a job is accepted afterwards.
      const after = await fetch(`${small.url}/jobs`, { method: "POST", headers: { "content-type": "application/json" }, body: body(), signal: AbortSignal.timeout(30_000) });
      expect(after.status).toBe(202);
    } finally {
      await small.close({ mode: "cancel" });
    }
  }, 120_000);
});

describe("session 7: a constrained zone's token table is built in slices at admission", () => {
  it("keeps the event loop under a second while a 606-state constraint compiles under GPT-2's vocabulary (held 2.3 s in one piece)", async () => {
    const gpt2 = await loadGpt2Tokenizer();
    const model = forge.DecoderModel.random(forge.smallConfig("gpt2", { vocabSize: gpt2.vocabSize, hiddenSize: 16, layers: 1, heads: 2, kvHeads: 2, intermediateSize: 32, maxPositions: 256 }), 1);
    const wide = await forge.makeServer(await forge.makeBackend(model, gpt2), { address: "127.0.0.1:0", log: () => {} });
    try {
      const constrained = body((b) => {
        const zone = b.workflow.zones.findIndex((z: { maxGen: number }) => z.maxGen > 0);
        b.workflow.zones[zone].constraint = { kind: "regex", pattern: "[a-z ]{0,600}" };
      });
      await fetch(`${wide.url}/health`); // the server is up; its vocabulary captured
      const delay = monitorEventLoopDelay({ resolution: 10 });
      delay.enable();
      const started = performance.now();
      const answer = await fetch(`${wide.url}/jobs`, { method: "POST", headers: { "content-type": "application/json" }, body: constrained, signal: AbortSignal.timeout(120_000) });
      const admissionMs = performance.now() - started;
      delay.disable();
      expect(answer.status, await answer.clone().text()).toBe(202);
      console.log(`[hostile] admission ${admissionMs.toFixed(0)} ms, longest event-loop delay ${(delay.max / 1e6).toFixed(0)} ms`);
      // Slices of 16 token-level states (a few ms each) and the byte automaton (tens of ms here);
      // the shared machine adds its own stalls.
      expect(delay.max / 1e6).toBeLessThan(1_000);
    } finally {
      await wide.close({ mode: "cancel" });
    }
  }, 180_000);
});

describe("session 7: a refused JSON body says why and where", () => {
  it("names a __proto__ or constructor.prototype key's path, and a syntax error's position (both were 'Body is not valid JSON')", async () => {
    const proto = await post(`{"workflow": {"meta": {"__proto__": {"polluted": true}}}, "options": {}}`);
    expect(proto.status).toBe(400);
    expect(proto.error).toMatchObject({
      code: "invalid_request",
      path: "$.workflow.meta.__proto__",
      message: 'the request body holds the key "__proto__" at $.workflow.meta.__proto__, which this server refuses (prototype poisoning)',
    });
    const ctor = await post(`{"workflow": {}, "options": {"x": [1, {"constructor": {"prototype": {}}}]}}`);
    expect(ctor.error).toMatchObject({ path: "$.options.x[1].constructor.prototype" });
    const deep = await post(`{"workflow": ${'{"a":'.repeat(100_000)}{"__proto__":1}${"}".repeat(100_000)}}`);
    expect(deep.error!.path).toMatch(/^\$\.workflow\.a\.a.*….*\.a\.__proto__$/);
    expect(deep.error!.path!.length).toBeLessThan(600);
    const syntax = await post(`{"workflow": {"a": 1,, "b": 2}}`);
    expect(syntax.status).toBe(400);
    expect(syntax.error!.message).toMatch(/^the request body is not valid JSON: .*position 21/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("finds the forbidden key of a 4 MB body without holding the event loop much past its parse (a path string per value held it 4.2 s, parse 0.3 s)", async () => {
    // 1.9 M array elements before the key: the search walked them all, building a path for each.
    const zeros = Array(1_900_000).fill(0).join(",");
    const payload = `{"workflow": {"x": [${zeros}, {"__proto__": 1}]}, "options": {}}`;
    expect(payload.length).toBeLessThan(4_194_304);
    const parse = performance.now();
    JSON.parse(payload);
    const parseMs = performance.now() - parse;
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    const answer = await post(payload, 60_000);
    delay.disable();
    expect(answer.error).toMatchObject({ code: "invalid_request", path: "$.workflow.x[1900000].__proto__" });
    console.log(`[hostile] forbidden key in 4 MB: JSON.parse alone ${parseMs.toFixed(0)} ms, longest event-loop delay ${(delay.max / 1e6).toFixed(0)} ms`);
    // fastify's own parse and scan are one piece, this server's parse and search another: 0.67–0.77 s measured (parse 0.19–0.48 s, load ~4.5)
    expect(delay.max / 1e6).toBeLessThan(Math.max(1_500, 4 * parseMs));
  }, 60_000);
});

describe("session 7: GET /jobs/{id}/result is serialized in slices", () => {
  it("keeps the event loop and a concurrent /health well under 0.3 s while a 24 MB result goes out (one JSON.stringify held it 0.3–0.9 s)", async () => {
    // A batch-256 run of 256 instances with top-20 logprobs: 16.5 MB of JSON (24 MB with arrays=list).
    const big = JSON.stringify({ workflow: seedExample(32).factory(), options: { batchSize: 256, instances: 256, maxTokens: 256, seed: 3, logprobs: { top: 20 } } });
    const answer = await post(big, 120_000);
    expect(answer.status, answer.text).toBe(202);
    const resultUrl = `${server.url}/jobs/${answer.id}/result`;
    const reference = await (await fetch(`${resultUrl}?wait=true&arrays=list`, { signal: AbortSignal.timeout(120_000) })).text();
    expect(reference.length).toBeGreaterThan(10_000_000);
    // The body is the run's JSON: decoded by the client's reader, the streams are all there.
    const run = forge.decodeRun(JSON.parse(await (await fetch(resultUrl, { signal: AbortSignal.timeout(60_000) })).text()));
    expect(run.streams.length).toBe(256);
    expect(run.streams.every((s) => s.logprobs !== undefined && s.tokens.length > 0)).toBe(true);
    for (let round = 0; round < 2; round++) {
      const delay = monitorEventLoopDelay({ resolution: 5 });
      delay.enable();
      const text = fetch(`${resultUrl}?arrays=list`, { signal: AbortSignal.timeout(60_000) }).then((r) => r.text());
      await new Promise((resolve) => setImmediate(resolve)); // the result request is in
      const started = performance.now();
      const health = await fetch(`${server.url}/health`, { signal: AbortSignal.timeout(60_000) });
      const healthMs = performance.now() - started;
      expect(health.status).toBe(200);
      expect(await text).toBe(reference); // same bytes every time
      delay.disable();
      console.log(`[hostile] result ${(reference.length / 1e6).toFixed(1)} MB: longest event-loop delay ${(delay.max / 1e6).toFixed(0)} ms, /health ${healthMs.toFixed(0)} ms`);
      // Slices of 10 ms; the rest is GC (up to ~35 ms here), this process's own client reading
      // the body, and the shared machine's stalls.
      expect(delay.max / 1e6).toBeLessThan(300);
      expect(healthMs).toBeLessThan(300);
    }
  }, 240_000);
});

describe("session 7: a constrained zone's byte automaton is built in slices at admission", () => {
  it("holds the event loop well under its build time while a regex is refused on its work bound (one piece of 0.7–1.2 s before)", async () => {
    const constrained = body((b) => {
      const zone = b.workflow.zones.findIndex((z: { maxGen: number }) => z.maxGen > 0);
      b.workflow.zones[zone].constraint = { kind: "regex", pattern: "(.{0,90}){10}" }; // not kept by another test
    });
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    const answer = await post(constrained, 60_000);
    delay.disable();
    expect(answer.status, answer.text).toBe(422);
    expect(answer.error!.message).toMatch(/REGEX_LIMITS\.maxSubsetWork = 16777216 steps/);
    console.log(`[hostile] refused regex: admission ${answer.ms.toFixed(0)} ms, longest event-loop delay ${(delay.max / 1e6).toFixed(0)} ms`);
    expect(delay.max / 1e6).toBeLessThan(400); // ~80 ms measured; the shared machine adds its stalls
  }, 60_000);
});
