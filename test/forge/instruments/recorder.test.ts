/**
 * Logprobs end to end (request option `logprobs`) on a real random-weight model: the engine's
 * per-step numbers equal an independent teacher-forced pass of the same model over each
 * stream's tokens; forced tokens carry NaN; the instrument does not change what is sampled;
 * the numbers cross HTTP unchanged (a real server), and bad options are refused.
 */
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as forge from "../../../forge/index.js";
import { decodeRun, encodeRun } from "../../../forge/run/codec.js";
import { randomByteModel, seedExample } from "../engine/helpers.js";

let model: forge.DecoderModel;
let backend: forge.ForgeBackend;
let server: Awaited<ReturnType<typeof startServer>>;
const startServer = () => forge.makeServer(backend, { address: "127.0.0.1:0", log: () => {} });

beforeAll(async () => {
  await forge.initBackend("wasm");
  model = randomByteModel(4);
  backend = await forge.makeBackend(model, new forge.ByteTokenizer());
  server = await startServer();
});
afterAll(async () => {
  await server?.close();
});

const OPTIONS = { batchSize: 4, seed: 5, temperature: 0.9, topK: 50, logprobs: { top: 3 } } as const;

describe("logprobs on a real model", { timeout: 300_000 }, () => {
  let run: forge.Run;
  beforeAll(async () => {
    const { config, factory } = seedExample(5);
    run = (await forge.makeSession(backend).request(config, factory(), OPTIONS)).run;
  });

  it("match a teacher-forced pass over each stream's tokens, NaN where the token was forced", () => {
    let generated = 0;
    for (const stream of run.streams) {
      const lp = stream.logprobs!;
      expect(lp.model).toHaveLength(stream.tokens.length);
      const logits = tf.tidy(() => tf.logSoftmax(model.forward([Array.from(stream.tokens)]).squeeze([0]))) as tf.Tensor2D;
      const rows = logits.arraySync();
      logits.dispose();
      for (let i = 0; i < stream.tokens.length; i++) {
        if (stream.forced[i]) {
          expect(Number.isNaN(lp.model[i]!), `stream ${stream.instance} step ${i}`).toBe(true);
          expect(lp.top!.ids[i * 3]).toBe(-1);
          continue;
        }
        generated++;
        const want = rows[i - 1]![stream.tokens[i]!]!;
        expect(Math.abs(lp.model[i]! - want), `stream ${stream.instance} step ${i}`).toBeLessThan(2e-3);
        // Sampling at temperature 0.9 and top-k 50: a finite logprob, different from the model's.
        expect(Number.isFinite(lp.sampling[i]!)).toBe(true);
        // The best alternative is at least as likely as the token taken, and is the teacher pass's argmax.
        expect(lp.top!.logprobs[i * 3]!).toBeGreaterThanOrEqual(lp.model[i]! - 1e-6);
        const argmax = rows[i - 1]!.indexOf(Math.max(...rows[i - 1]!));
        expect(Math.abs(rows[i - 1]![lp.top!.ids[i * 3]!]! - rows[i - 1]![argmax]!)).toBeLessThan(2e-3);
      }
    }
    expect(generated).toBeGreaterThan(20);
  });

  it("give a jump hazard in [0, 1] inside jump sites only", () => {
    const jumpSites = new Set(run.workflow.zones.flatMap((z, i) => (z.jump !== undefined && z.jump !== null ? [i] : [])));
    let inside = 0;
    for (const stream of run.streams) {
      for (let i = 0; i < stream.tokens.length; i++) {
        const h = stream.logprobs!.hazard[i]!;
        if (!stream.forced[i] && jumpSites.has(stream.pcs[i]!)) {
          expect(h).toBeGreaterThanOrEqual(0);
          expect(h).toBeLessThanOrEqual(1 + 1e-6);
          inside++;
        } else expect(Number.isNaN(h)).toBe(true);
      }
    }
    expect(inside).toBeGreaterThan(0);
  });

  it("do not change what is sampled", async () => {
    const { config, factory } = seedExample(5);
    const plain = (await forge.makeSession(backend).request(config, factory(), { ...OPTIONS, logprobs: undefined })).run;
    expect(plain.streams.map((s) => Array.from(s.tokens))).toEqual(run.streams.map((s) => Array.from(s.tokens)));
    expect(plain.streams[0]!.logprobs).toBeUndefined();
  });

  it("cross HTTP (a real server) and the Run codec unchanged, NaN included", async () => {
    const { config, factory } = seedExample(5);
    const remote = (await forge.makeSession(server.url).request(config, factory(), OPTIONS)).run;
    for (const [k, stream] of remote.streams.entries()) {
      expect(Array.from(stream.tokens)).toEqual(Array.from(run.streams[k]!.tokens));
      expect(Array.from(stream.logprobs!.model)).toEqual(Array.from(run.streams[k]!.logprobs!.model));
      expect(Array.from(stream.logprobs!.top!.ids)).toEqual(Array.from(run.streams[k]!.logprobs!.top!.ids));
    }
    const listed = decodeRun(JSON.parse(JSON.stringify(encodeRun(run, "list"))));
    expect(Array.from(listed.streams[1]!.logprobs!.sampling)).toEqual(Array.from(run.streams[1]!.logprobs!.sampling));
  });

  it("keep two replays of one instance apart (each trace its own numbers, NaN exactly where forced)", async () => {
    const original = run.streams[1]!;
    const sites = new Set(run.statistics.jumpSites.map((s) => s.zoneId));
    const step = Array.from(original.pcs).findIndex((pc, i) => !original.forced[i] && sites.has(pc));
    const replayed = await forge.makeSession(backend).replay(run, [{ instance: 1 }, { instance: 1, step, force: "[Jump]" }], { logprobs: true });
    expect(replayed.streams.map((s) => s.instance)).toEqual([1, 1]);
    const [plain, forced] = replayed.streams as [forge.StreamTrace, forge.StreamTrace];
    for (const stream of [plain, forced]) {
      const lp = stream.logprobs!;
      for (let i = 0; i < stream.tokens.length; i++) expect(Number.isNaN(lp.model[i]!), `instance 1, step ${i}`).toBe(stream.forced[i] === 1);
    }
    // The plain replay is the original stream, so its numbers are the original's.
    expect(Array.from(plain.tokens)).toEqual(Array.from(original.tokens));
    for (let i = 0; i < plain.tokens.length; i++) if (!plain.forced[i]) expect(plain.logprobs!.model[i]).toBeCloseTo(original.logprobs!.model[i]!, 5);
    // The forced replay shares the trace up to its step, then emits the pattern as far as the zone's 5-token cap lets it.
    expect(Array.from(forced.tokens.slice(0, step))).toEqual(Array.from(original.tokens.slice(0, step)));
    expect(Array.from(forced.tokens.slice(step, step + 5))).toEqual(Array.from(Buffer.from("[Jump")));
    expect(Array.from(forced.tokens)).not.toEqual(Array.from(plain.tokens));
  });

  it("refuses a bad option with the field named, in process and over HTTP", async () => {
    const { config, factory } = seedExample(5);
    await expect(forge.makeSession(backend).request(config, factory(), { batchSize: 1, logprobs: { top: 99 } })).rejects.toThrow(/logprobs\.top must be an integer from 0 to 20/);
    await expect(forge.makeSession(server.url).request(config, factory(), { batchSize: 1, logprobs: { top: 99 } })).rejects.toThrow(/logprobs\.top/);
  });
});
