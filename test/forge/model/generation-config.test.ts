/**
 * A model folder's generation_config.json: its sampling becomes the backend's default for
 * the fields a request leaves out; a malformed file is refused naming the file and field.
 */
import { copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import * as forge from "../../../forge/index.js";
import { DecoderModel, GENERATION_CONFIG_FILE, ModelFormatError, readGenerationConfig, saveModel, smallConfig } from "../../../forge/model/index.js";
import { tinySeedProgram } from "../../helpers/workflows.js";

const root = mkdtempSync(join(tmpdir(), "forge-genconfig-"));
let n = 0;
function folderWith(generationConfig: string | null): string {
  const dir = join(root, `m${n++}`);
  saveModel(DecoderModel.random(smallConfig("llama", { vocabSize: 257, hiddenSize: 16, heads: 2, maxPositions: 256 }), 3), dir, "{}");
  copyFileSync(new URL("../../../models/forge-tiny/tokenizer.json", import.meta.url), join(dir, "tokenizer.json"));
  if (generationConfig !== null) writeFileSync(join(dir, GENERATION_CONFIG_FILE), generationConfig);
  return dir;
}

describe("readGenerationConfig", () => {
  it("reads the sampling of a do_sample file, leaving out what is off", () => {
    expect(readGenerationConfig(folderWith(null))).toEqual({});
    expect(readGenerationConfig(folderWith('{"bos_token_id": 50256, "eos_token_id": 50256}'))).toEqual({}); // GPT-2's
    expect(readGenerationConfig(folderWith('{"do_sample": false, "temperature": 0.5}'))).toEqual({});
    expect(readGenerationConfig(folderWith('{"do_sample": true, "temperature": 0.6, "top_k": 40, "top_p": 0.9}'))).toEqual({ temperature: 0.6, topK: 40, topP: 0.9 });
    expect(readGenerationConfig(folderWith('{"do_sample": true, "temperature": 1.0, "top_k": 0, "top_p": 1.0}'))).toEqual({});
  });

  it("refuses a malformed file, naming the file and the field", () => {
    const refusal = (text: string) => {
      try {
        readGenerationConfig(folderWith(text));
      } catch (err) {
        expect(err).toBeInstanceOf(ModelFormatError);
        return (err as Error).message;
      }
      throw new Error("accepted");
    };
    expect(refusal("{ nope")).toMatch(/generation_config\.json: not valid JSON/);
    expect(refusal('{"do_sample": "yes"}')).toMatch(/generation_config\.json: do_sample: expected true or false, got "yes"/);
    expect(refusal('{"do_sample": true, "top_p": 1.5}')).toMatch(/generation_config\.json: top_p: expected a number in \(0, 1\], got 1\.5/);
    expect(refusal('{"do_sample": true, "temperature": -1}')).toMatch(/temperature: expected a number > 0/);
    expect(refusal('{"do_sample": true, "top_k": 2.5}')).toMatch(/top_k: expected an integer >= 0/);
  });
});

describe("a backend on a folder with generation_config.json", () => {
  let backend: forge.ForgeBackend;
  beforeAll(async () => {
    backend = await forge.makeBackend(folderWith('{"do_sample": true, "temperature": 0.7, "top_p": 0.9}'), undefined, { device: "wasm" });
  });

  it("says its defaults and samples with them where a request sets nothing", async () => {
    expect(backend.info().sampling).toEqual({ temperature: 0.7, topP: 0.9 });
    const workflow = tinySeedProgram(4, 2).factory();
    const byDefault = await backend.run(workflow, { batchSize: 2, seed: 1 });
    expect(byDefault.meta.sampling).toMatchObject({ greedy: false, temperature: 0.7, topP: 0.9 });
    const explicit = await backend.run(workflow, { batchSize: 2, seed: 1, temperature: 0.7, topP: 0.9 });
    expect(explicit.streams.map((s) => [...s.tokens])).toEqual(byDefault.streams.map((s) => [...s.tokens]));
  });

  it("lets a request override each field, and greedy override all", async () => {
    const workflow = tinySeedProgram(4, 2).factory();
    expect((await backend.run(workflow, { batchSize: 1, topP: 1 })).meta.sampling).toMatchObject({ temperature: 0.7, topP: null });
    expect((await backend.run(workflow, { batchSize: 1, temperature: 1.2 })).meta.sampling).toMatchObject({ temperature: 1.2, topP: 0.9 });
    expect((await backend.run(workflow, { batchSize: 1, greedy: true })).meta.sampling).toMatchObject({ greedy: true });
  });

  it("is overridden by makeBackend's sampling option", async () => {
    const plain = await forge.makeBackend(folderWith('{"do_sample": true, "top_p": 0.5}'), undefined, { device: "wasm", sampling: {} });
    expect(plain.info().sampling).toEqual({});
  });
});
