/**
 * Hugging Face layout folders: `config.json`, `model.safetensors` (or sharded with
 * `model.safetensors.index.json`), `tokenizer.json`. Nothing is fetched; a missing or
 * malformed file is a ModelFormatError naming the file and the field.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { configFromHf, configToHf, type DecoderConfig } from "./config.js";
import { DecoderModel } from "./decoder.js";
import { readGenerationConfig, type SamplingDefaults } from "./generation-config.js";
import { ModelFormatError } from "./errors.js";
import { readSafetensors, writeSafetensors, type SafetensorsFile } from "./safetensors.js";
import { weightsFromHf, weightsToHf, type TensorSource } from "./weights.js";

export interface LoadedModel {
  model: DecoderModel;
  tokenizerJsonPath: string;
  config: DecoderConfig;
  /** The folder's recommended sampling (generation_config.json); {} when it has none. */
  sampling: SamplingDefaults;
}

function readJson(path: string): unknown {
  if (!existsSync(path)) throw new ModelFormatError(path, null, "file missing");
  const text = readFileSync(path, "utf8");
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ModelFormatError(path, null, `not valid JSON (${(err as Error).message})`);
  }
}

/** One view over a single safetensors file or the shards named by an index file. */
function openWeights(folder: string): TensorSource {
  const single = join(folder, "model.safetensors");
  if (existsSync(single)) return readSafetensors(single);
  const indexPath = join(folder, "model.safetensors.index.json");
  if (!existsSync(indexPath))
    throw new ModelFormatError(single, null, "file missing (no model.safetensors or model.safetensors.index.json in the folder)");
  const index = readJson(indexPath) as { weight_map?: unknown };
  if (typeof index.weight_map !== "object" || index.weight_map === null)
    throw new ModelFormatError(indexPath, "weight_map", "missing or not an object");
  const weightMap = index.weight_map as Record<string, string>;
  const shards = new Map<string, SafetensorsFile>();
  const shard = (name: string): SafetensorsFile => {
    const file = weightMap[name]!;
    if (!shards.has(file)) shards.set(file, readSafetensors(join(folder, file)));
    return shards.get(file)!;
  };
  return {
    file: indexPath,
    has: (name) => name in weightMap,
    float32: (name) => shard(name).float32(name),
  };
}

/** Load a Hugging Face layout folder (GPT-2 or Llama family). */
export async function loadModel(folder: string): Promise<LoadedModel> {
  const dir = resolve(folder);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ModelFormatError(dir, null, "model folder not found");
  const configPath = join(dir, "config.json");
  const config = configFromHf(readJson(configPath), configPath);
  const tokenizerJsonPath = join(dir, "tokenizer.json");
  if (!existsSync(tokenizerJsonPath)) throw new ModelFormatError(tokenizerJsonPath, null, "file missing (the model folder needs its tokenizer)");
  const sampling = readGenerationConfig(dir);
  const weights = weightsFromHf(config, openWeights(dir));
  return { model: new DecoderModel(basename(dir), config, weights), tokenizerJsonPath, config, sampling };
}

/** Write config.json (HF keys), model.safetensors (f32) and tokenizer.json. */
export function saveModel(model: DecoderModel, folder: string, tokenizerJson: string | object): void {
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, "config.json"), JSON.stringify(configToHf(model.config), null, 2) + "\n");
  writeSafetensors(join(folder, "model.safetensors"), weightsToHf(model.config, model.weights));
  writeFileSync(join(folder, "tokenizer.json"), typeof tokenizerJson === "string" ? tokenizerJson : JSON.stringify(tokenizerJson));
}
