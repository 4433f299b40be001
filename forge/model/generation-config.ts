/**
 * A model folder's `generation_config.json` (Hugging Face layout): the sampling its authors
 * recommend, used as the backend's default for requests that do not set their own.
 *
 * Only sampling is read: with `"do_sample": true`, its `temperature`, `top_k` and `top_p`.
 * Without `do_sample` (GPT-2's file, say, holds only token ids) Transformers decodes greedily;
 * a batch of streams that all take the same path would show nothing, so such a file leaves
 * the engine's own default (temperature 1) in place.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ModelFormatError } from "./errors.js";

/** Default sampling of a model, in the engine's spelling. */
export interface SamplingDefaults {
  temperature?: number;
  topK?: number;
  topP?: number;
}

export const GENERATION_CONFIG_FILE = "generation_config.json";

/** The sampling defaults in `dir`'s generation_config.json; {} when it has none. */
export function readGenerationConfig(dir: string): SamplingDefaults {
  const path = join(dir, GENERATION_CONFIG_FILE);
  if (!existsSync(path)) return {};
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ModelFormatError(path, null, `not valid JSON (${(err as Error).message})`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw new ModelFormatError(path, null, "expected a JSON object");
  const fields = json as Record<string, unknown>;
  if (fields.do_sample === undefined || fields.do_sample === false) return {};
  if (fields.do_sample !== true) throw new ModelFormatError(path, "do_sample", `expected true or false, got ${JSON.stringify(fields.do_sample)}`);
  const defaults: SamplingDefaults = {};
  const number = (key: string, ok: (x: number) => boolean, expected: string): number | undefined => {
    const value = fields[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "number" || !ok(value)) throw new ModelFormatError(path, key, `expected ${expected}, got ${JSON.stringify(value)}`);
    return value;
  };
  const temperature = number("temperature", (x) => Number.isFinite(x) && x > 0, "a number > 0");
  // Transformers' own defaults (top_k 50, top_p 1) are written into many files: top_k 0 means off.
  const topK = number("top_k", (x) => Number.isInteger(x) && x >= 0, "an integer >= 0 (0: off)");
  const topP = number("top_p", (x) => x > 0 && x <= 1, "a number in (0, 1]");
  if (temperature !== undefined && temperature !== 1) defaults.temperature = temperature;
  if (topK !== undefined && topK > 0) defaults.topK = topK;
  if (topP !== undefined && topP < 1) defaults.topP = topP;
  return defaults;
}
