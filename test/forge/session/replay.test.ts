/**
 * Counterfactual replay (session.replay) on a real random-weight model: with nothing forced a
 * replayed stream equals the original token for token, whatever the batch it runs in; with a
 * forced "[Jump]" the trace before the step is identical, the forced text follows, and the
 * automaton reacts to it; the same through a real HTTP server; mistakes name the stream.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as forge from "../../../forge/index.js";
import { randomByteModel, seedExample } from "../engine/helpers.js";

let backend: forge.ForgeBackend;
let server: Awaited<ReturnType<typeof forge.makeServer>> & { url: string; close(): Promise<void> };
let original: forge.Run;

beforeAll(async () => {
  await forge.initBackend("wasm");
  backend = await forge.makeBackend(randomByteModel(9), new forge.ByteTokenizer());
  server = (await forge.makeServer(backend, { address: "127.0.0.1:0", log: () => {} })) as typeof server;
  const { config, factory } = seedExample(6);
  original = (await forge.makeSession(backend).request(config, factory(), { batchSize: 4, seed: 7, temperature: 1 })).run;
}, 300_000);
afterAll(async () => {
  await server?.close();
});

const tokens = (s: forge.StreamTrace) => Array.from(s.tokens);

/** The first step instance `k` sampled inside a jump site (a control zone). */
function jumpSiteStep(k: number): number {
  const stream = original.streams[k]!;
  const sites = new Set(original.workflow.zones.flatMap((z, i) => (z.jump !== undefined && z.jump !== null ? [i] : [])));
  const step = Array.from(stream.pcs).findIndex((pc, i) => !stream.forced[i] && sites.has(pc));
  expect(step).toBeGreaterThan(0);
  return step;
}

describe("session.replay", { timeout: 300_000 }, () => {
  it("with nothing forced reproduces the original streams token for token, in another batch", async () => {
    const replayed = await forge.makeSession(backend).replay(original, [{ instance: 2 }, { instance: 0 }]);
    // Streams come in instance order, like every Run's.
    expect(replayed.streams.map((s) => s.instance)).toEqual([0, 2]);
    expect(tokens(replayed.streams[0]!)).toEqual(tokens(original.streams[0]!));
    expect(tokens(replayed.streams[1]!)).toEqual(tokens(original.streams[2]!));
    expect(replayed.meta.replayOf).toEqual({ runId: original.meta.runId, streams: [{ instance: 2, step: null, force: null }, { instance: 0, step: null, force: null }] });
  });

  it("with a forced [Jump] keeps the trace before the step, emits the text there, and the automaton reacts", async () => {
    const step = jumpSiteStep(1);
    const [replayed] = (await forge.makeSession(backend).replay(original, { instance: 1, step, force: "[Jump]" })).streams;
    const before = original.streams[1]!;
    expect(tokens(replayed!).slice(0, step)).toEqual(tokens(before).slice(0, step));
    const forcedText = Buffer.from(Uint8Array.from(tokens(replayed!).slice(step, step + 6))).toString("latin1");
    expect(forcedText).toBe("[Jump]");
    // The forced text counts as the model's: not marked forced, and the jump site saw its pattern (a jump, or one ignored under `min`).
    expect(Array.from(replayed!.forced.slice(step, step + 6))).toEqual([0, 0, 0, 0, 0, 0]);
    const reacted = replayed!.events.filter((e) => e.step >= step && e.step < step + 6 && /jump/.test(e.kind));
    expect(reacted.length, JSON.stringify(replayed!.events.slice(0, 12))).toBeGreaterThan(0);
  });

  it("gives the same replay through a real HTTP server", async () => {
    const step = jumpSiteStep(3);
    const spec = [{ instance: 3, step, force: "[Jump]" }, { instance: 1 }];
    const direct = await forge.makeSession(backend).replay(original, spec);
    const remote = await forge.makeSession(server.url).replay(original, spec);
    expect(remote.streams.map(tokens)).toEqual(direct.streams.map(tokens));
    expect(remote.meta.replayOf!.runId).toBe(original.meta.runId);
  });

  it("names the stream and step of a mistake", async () => {
    const session = forge.makeSession(backend);
    await expect(session.replay(original, { instance: 99 })).rejects.toThrow(/replay: instance 99 is not in the run/);
    await expect(session.replay(original, [{ instance: 0 }, { instance: 1, step: 0, force: "x" }])).rejects.toThrow(/replay\[1\]: step 0 of instance 1 is forced text/);
    await expect(session.replay(original, { instance: 1, force: "x" })).rejects.toThrow(/force needs the step/);
  });
});
