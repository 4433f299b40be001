/**
 * The ONNX engine in the whole loop (issue 17): greedy traces of the seed example equal the
 * tfjs engine's token for token — on the project's model and on random small Llama and GPT-2
 * models — with the throughput features on (shared-prefix prefill, continuous batching,
 * shrinking) and with multi-token feeding; sampling stays per instance (same draws whatever
 * the batch); tools, abort and progress behave as on tfjs.
 */
import { beforeAll, describe, expect, it } from "vitest";
import * as forge from "../../../forge/index.js";
import { makeBackend, type ForgeBackend } from "../../../forge/session/backend.js";
import { randomByteModel, seedExample, toolWorkflow } from "../engine/helpers.js";
import { DEFAULT_ENGINE } from "../../../forge/backend/engine.js";

const project = { tfjs: null as unknown as ForgeBackend, onnx: null as unknown as ForgeBackend };

beforeAll(async () => {
  await forge.initBackend("wasm");
  project.tfjs = await makeBackend(undefined, undefined, { engine: "tfjs" });
  project.onnx = await makeBackend(undefined, undefined, { engine: "onnx" });
}, 120_000);

const tokensOf = (run: forge.Run) => run.streams.map((s) => Array.from(s.tokens));

describe("ONNX engine: greedy traces equal the tfjs engine's", { timeout: 300_000 }, () => {
  it("picks the engine asked for", () => {
    expect(project.tfjs.engine).toBe("tfjs");
    expect(project.onnx.engine).toBe("onnxruntime");
    // info() says which engine and device; everything else is the same model.
    const { engine: onnxEngine, device: onnxDevice, ...onnxInfo } = project.onnx.info();
    const { engine: tfjsEngine, device: tfjsDevice, ...tfjsInfo } = project.tfjs.info();
    expect(onnxInfo).toEqual(tfjsInfo);
    expect([onnxEngine, onnxDevice, tfjsEngine, tfjsDevice]).toEqual(["onnxruntime", "cpu", "tfjs", "cpu"]);
  });

  it("auto: onnx for a model folder, tfjs for a model object (its weights may change); $FORGE_ENGINE overrides", async () => {
    const saved = process.env.FORGE_ENGINE;
    delete process.env.FORGE_ENGINE;
    try {
      expect((await makeBackend(undefined, undefined, { engine: "auto" })).engine).toBe("onnxruntime");
      expect((await makeBackend(randomByteModel(1), new forge.ByteTokenizer(), { engine: "auto" })).engine).toBe("tfjs");
      expect((await makeBackend()).engine).toBe(DEFAULT_ENGINE === "tfjs" ? "tfjs" : "onnxruntime");
      process.env.FORGE_ENGINE = "tfjs";
      expect((await makeBackend(undefined, undefined, { engine: "onnx" })).engine).toBe("tfjs");
      process.env.FORGE_ENGINE = "auto";
      expect((await makeBackend()).engine).toBe("onnxruntime");
    } finally {
      if (saved === undefined) delete process.env.FORGE_ENGINE;
      else process.env.FORGE_ENGINE = saved;
    }
  });

  it("the project's model, seed example, 8 streams (prefill, continuous batching over 12 instances, shrinking)", async () => {
    const { factory } = seedExample(24);
    const workflow = factory();
    // The model reads bytes: the seed example's forced text alone is ≈ 1 000 tokens, so 700 would compare forced tokens only.
    const options = { batchSize: 8, instances: 12, seed: 3, greedy: true, maxTokens: 2000 };
    const [a, b] = [await project.tfjs.run(workflow, options), await project.onnx.run(workflow, options)];
    expect(a.streams.every((s) => s.forced.some((f) => f === 0))).toBe(true);
    expect(tokensOf(b)).toEqual(tokensOf(a));
    expect(b.streams.map((s) => s.status)).toEqual(a.streams.map((s) => s.status));
    expect(b.meta.forwardTokens).toBe(a.meta.forwardTokens);
    // Each run's metadata says what computed it.
    expect([a.meta.engine, a.meta.device, b.meta.engine, b.meta.device]).toEqual(["tfjs", "cpu", "onnxruntime", "cpu"]);
  });

  it("the project's model, seed example sampled at temperature 1: the same traces (logits agree within 2e-4, onnx-model.test.ts, so the draws land alike)", async () => {
    const { factory } = seedExample(24);
    const workflow = factory();
    const options = { batchSize: 8, instances: 8, seed: 11, temperature: 1, maxTokens: 2000 }; // bytes: the forced text alone is ≈ 1 000
    const [a, b] = [await project.tfjs.run(workflow, options), await project.onnx.run(workflow, options)];
    expect(a.streams.some((s) => s.forced.some((f) => f === 0))).toBe(true); // tokens were sampled, not only forced
    expect(tokensOf(b)).toEqual(tokensOf(a));
  });

  for (const family of ["llama", "gpt2"] as const) {
    it(`random small ${family}, seed example: engine defaults, and multi-token feeding (k = 8)`, async () => {
      const model = randomByteModel(5, family);
      const tok = new forge.ByteTokenizer();
      const tfjs = await makeBackend(model, tok, { engine: "tfjs" });
      const onnx = await makeBackend(model, tok, { engine: "onnx" });
      const workflow = seedExample(6).factory();
      for (const extra of [{}, { feedChunk: 8 }, { prefill: false, continuousBatching: false }]) {
        const options = { batchSize: 4, instances: 6, seed: 1, greedy: true, maxTokens: 360, ...extra };
        expect(tokensOf(await onnx.run(workflow, options))).toEqual(tokensOf(await tfjs.run(workflow, options)));
      }
    });
  }
});

describe("ONNX engine: the loop's other promises", { timeout: 300_000 }, () => {
  it("samples an instance the same whatever the batch size", async () => {
    const workflow = seedExample(12).factory();
    const options = { seed: 7, instances: 6, maxTokens: 600 };
    const wide = await project.onnx.run(workflow, { ...options, batchSize: 6 });
    const narrow = await project.onnx.run(workflow, { ...options, batchSize: 2 });
    expect(tokensOf(narrow)).toEqual(tokensOf(wide));
  });

  it("calls tools, reports progress and stops on abort", async () => {
    const model = randomByteModel(2, "llama");
    const backend = await makeBackend(model, new forge.ByteTokenizer(), { engine: "onnx", tools: { search: (q) => `found ${q.length}` } });
    const progress: number[] = [];
    const run = await backend.run(toolWorkflow(), { batchSize: 3, seed: 1, onProgress: (p) => progress.push(p.streamsDone) });
    expect(run.streams.every((s) => s.status !== "tool_error")).toBe(true);
    expect(progress.at(-1)).toBe(3);
    const text = new forge.ByteTokenizer().decode(Array.from(run.streams[0]!.tokens));
    expect(text).toContain("Results: [Answer]found ");

    const controller = new AbortController();
    controller.abort();
    const aborted = await project.onnx.run(seedExample(12).factory(), { batchSize: 2, signal: controller.signal });
    expect(aborted.meta.interrupted).toBe(true);
  });
});
