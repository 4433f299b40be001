import { afterEach, describe, expect, it } from "vitest";
import { BackendError } from "../../../forge/backend/select.js";
import { ENGINE_ENV, selectEngine } from "../../../forge/backend/engine.js";
import { DecoderModel, ModelUsageError, smallConfig } from "../../../forge/model/index.js";
import { initBackend } from "../../../forge/backend/index.js";
import { makeBackend } from "../../../forge/session/backend.js";

describe("selectEngine", () => {
  const saved = process.env[ENGINE_ENV];
  afterEach(() => {
    if (saved === undefined) delete process.env[ENGINE_ENV];
    else process.env[ENGINE_ENV] = saved;
  });
  const model = () => DecoderModel.random(smallConfig("gpt2", { vocabSize: 16, hiddenSize: 8, layers: 1, heads: 1, intermediateSize: 16, maxPositions: 32 }), 1);

  it("names where an unknown engine came from: the option or the environment variable", async () => {
    delete process.env[ENGINE_ENV];
    await expect(selectEngine(model(), "wasm", "fast" as never)).rejects.toThrow(new BackendError('makeBackend engine: unknown engine "fast"; expected onnx, tfjs or auto'));
    await expect(selectEngine(model(), "wasm", "fast" as never)).rejects.toBeInstanceOf(BackendError);
    process.env[ENGINE_ENV] = "gpu";
    await expect(selectEngine(model(), "wasm", "auto")).rejects.toThrow(/environment variable FORGE_ENGINE: unknown engine "gpu"/);
  });

  it("auto keeps a model object on tfjs: its owner may still change the weights", async () => {
    delete process.env[ENGINE_ENV];
    expect((await selectEngine(model(), "wasm", "auto", false)).name).toBe("tfjs");
  });

  it("a folder-loaded model on onnx gives up its tfjs weights (one copy of the weights); an object, or tfjs, keeps them", async () => {
    delete process.env[ENGINE_ENV];
    await initBackend("wasm");
    const onnx = await makeBackend(undefined, undefined, { engine: "onnx" });
    expect(onnx.engine).toBe("onnxruntime");
    expect(onnx.model.hasWeights).toBe(false);
    expect(onnx.info().contextLength).toBe(onnx.model.config.maxPositions); // name and config remain
    expect(() => onnx.model.forward([[1, 2]])).toThrow(ModelUsageError);
    expect(() => onnx.model.forward([[1, 2]])).toThrow(/its tfjs weights were released .* load the model again/);
    expect((await makeBackend(undefined, undefined, { engine: "tfjs" })).model.hasWeights).toBe(true);
    const object = model();
    const chosen = await selectEngine(object, "wasm", "onnx", false);
    expect(chosen.name).toBe("onnx");
    expect(object.hasWeights).toBe(true);
    const kept = model();
    await selectEngine(kept, "wasm", "onnx", true, { keepTfjsWeights: true });
    expect(kept.hasWeights).toBe(true);
  }, 60_000);
});
