import { afterEach, describe, expect, it } from "vitest";
import { BackendError } from "../../../forge/backend/select.js";
import { ENGINE_ENV, selectEngine } from "../../../forge/backend/engine.js";
import { DecoderModel, smallConfig } from "../../../forge/model/index.js";

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
});
