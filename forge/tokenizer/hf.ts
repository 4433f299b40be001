/**
 * `HfTokenizer`: a ForgeTokenizer over @huggingface/tokenizers, built from a Hugging Face
 * tokenizer.json (+ tokenizer_config.json). Stages, in order:
 *   read (files → JSON, errors name the file) → validate (errors name the field)
 *   → append added tokens (UDPL overrides, a missing pad) → construct the library tokenizer
 *   → read off the byte spelling of the vocabulary and its identity.
 *
 * Speed (bench/tokenizer.ts, 1 MB of seeded prose, 2 shared cores): encode ≈ 0.8 MB/s for
 * GPT-2 and ≈ 1.3 MB/s for Llama 3 (its `ignore_merges` skips BPE for whole-vocabulary
 * words), 0.03–0.06× ByteTokenizer — the ≈ 1 MB/s of docs/engine.md#tokenizers. Loading Llama 3's 9 MB
 * tokenizer.json takes ≈ 1 s; the first tokenBytes call builds the id → bytes table (≈ 0.2 s).
 */
import { stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { IN_MEMORY_FILE, TokenizerError } from "./errors.js";
import { describeVocabulary, tokenizerIdentity } from "./identity.js";
import type { VocabularySpelling } from "./token-bytes.js";
import { tokenBytesTable, vocabularySpelling } from "./token-bytes.js";
import type { AddedTokenSpec, TokenizerConfigJson, TokenizerJson } from "./tokenizer-json.js";
import {
  readJsonFile,
  specialTokenContent,
  validateTokenizerConfig,
  validateTokenizerJson,
  vocabularySize,
  withAddedTokens,
} from "./tokenizer-json.js";
import type { ForgeTokenizer } from "./types.js";

export interface HfTokenizerOptions {
  /** Readable part of the identity. Default: a description of the vocabulary, e.g. "byte-level-bpe-50257". */
  name?: string;
  /** Tokens appended to `added_tokens` before construction (UDPL's tokenizer_override). */
  addedTokens?: readonly AddedTokenSpec[];
  /** How errors refer to the tokenizer.json (a path, or "<in-memory tokenizer.json>"). */
  file?: string;
  /** How errors refer to the tokenizer_config.json. */
  configFile?: string;
}

/** Content of the pad token Forge adds when a vocabulary has neither a pad nor an eos token. */
export const ADDED_PAD_TOKEN = "<|forge_pad|>";

// Conventional pad and end-of-text spellings, looked up when tokenizer_config.json names none.
const PAD_SPELLINGS = ["<pad>", "[PAD]", "<|pad|>", "<|padding|>"];
const EOS_SPELLINGS = ["<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>", "<|eot_id|>", "<|im_end|>"];

/** Id of `content` as an added token or a model-vocabulary entry. */
function findTokenId(json: TokenizerJson, content: string): number | undefined {
  const added = json.added_tokens?.find((t) => t.content === content);
  if (added) return added.id;
  const vocab = json.model.vocab;
  if (Array.isArray(vocab)) {
    const index = vocab.findIndex(([token]) => token === content);
    return index < 0 ? undefined : index;
  }
  return Object.hasOwn(vocab, content) ? vocab[content] : undefined;
}

/**
 * Pick the pad token: tokenizer_config's pad_token, else its eos_token, else a conventional
 * pad or end-of-text token of the vocabulary. Returns the json (with the token appended when
 * the config names one the vocabulary lacks, or with ADDED_PAD_TOKEN when there is none).
 */
function choosePad(json: TokenizerJson, config: TokenizerConfigJson): { json: TokenizerJson; padId: number; added: boolean } {
  for (const field of [config.pad_token, config.eos_token]) {
    const content = specialTokenContent(field);
    if (content === undefined) continue;
    const id = findTokenId(json, content);
    if (id !== undefined) return { json, padId: id, added: false };
    const extended = withAddedTokens(json, [content]);
    return { json: extended, padId: findTokenId(extended, content)!, added: false };
  }
  for (const content of [...PAD_SPELLINGS, ...EOS_SPELLINGS]) {
    const id = findTokenId(json, content);
    if (id !== undefined) return { json, padId: id, added: false };
  }
  const extended = withAddedTokens(json, [ADDED_PAD_TOKEN]);
  return { json: extended, padId: findTokenId(extended, ADDED_PAD_TOKEN)!, added: true };
}

export class HfTokenizer implements ForgeTokenizer {
  readonly identity: string;
  readonly vocabSize: number;
  readonly padId: number;
  /** Readable part of the identity. */
  readonly name: string;
  /** How vocabulary entries spell bytes (byte-level, metaspace, plain). */
  readonly spelling: VocabularySpelling;
  /** The tokenizer.json actually constructed: the input plus appended added tokens and pad. */
  readonly json: TokenizerJson;
  readonly config: TokenizerConfigJson;
  /** True when the vocabulary had no pad/eos and ADDED_PAD_TOKEN was appended; it decodes to nothing. */
  readonly padWasAdded: boolean;

  private readonly tokenizer: Tokenizer;
  private readonly options: HfTokenizerOptions;
  private bytesTable: Uint8Array[] | undefined;

  private constructor(json: TokenizerJson, config: TokenizerConfigJson, options: HfTokenizerOptions) {
    const file = options.file ?? IN_MEMORY_FILE;
    const withOverrides = options.addedTokens?.length ? withAddedTokens(json, options.addedTokens) : json;
    const pad = choosePad(withOverrides, config);
    this.json = pad.json;
    this.config = config;
    this.options = options;
    this.padId = pad.padId;
    this.padWasAdded = pad.added;
    try {
      this.tokenizer = new Tokenizer(this.json, config);
    } catch (error) {
      throw new TokenizerError(file, `@huggingface/tokenizers cannot build this tokenizer: ${(error as Error).message}`);
    }
    this.vocabSize = vocabularySize(this.json);
    this.spelling = vocabularySpelling(this.json);
    this.name = options.name ?? describeVocabulary(this.json, this.spelling);
    this.identity = tokenizerIdentity(this.name, this.json, this.spelling);
  }

  /**
   * Build from a parsed tokenizer.json (and tokenizer_config.json). Both are validated; a
   * problem is a TokenizerError naming `options.file` (default "<in-memory tokenizer.json>")
   * and the field.
   */
  static fromJson(json: unknown, config?: unknown, options: HfTokenizerOptions = {}): HfTokenizer {
    const validJson = validateTokenizerJson(json, options.file ?? IN_MEMORY_FILE);
    const validConfig = config === undefined || config === null ? {} : validateTokenizerConfig(config, options.configFile ?? "<in-memory tokenizer_config.json>");
    return new HfTokenizer(validJson, validConfig, options);
  }

  /** Encode without adding special tokens (added tokens in the text are still matched whole). */
  encode(text: string): number[] {
    if (text.length === 0) return [];
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  /** Decode exactly: special tokens are kept as text, spaces are not "cleaned up"; an added pad decodes to nothing. */
  decode(ids: ArrayLike<number>): string {
    const kept: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      this.checkId(id);
      if (this.padWasAdded && id === this.padId) continue;
      if (this.tokenizer.id_to_token(id) === undefined) continue; // an id no entry uses
      kept.push(id);
    }
    if (kept.length === 0) return "";
    return this.tokenizer.decode(kept, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  tokenBytes(id: number): Uint8Array {
    this.checkId(id);
    if (this.padWasAdded && id === this.padId) return new Uint8Array(0);
    this.bytesTable ??= tokenBytesTable(this.json, this.spelling);
    return this.bytesTable[id]!;
  }

  /** Id of a token given as its text (an added token, or a single vocabulary entry), if any. */
  tokenId(text: string): number | undefined {
    const ids = this.encode(text);
    return ids.length === 1 ? ids[0] : undefined;
  }

  /**
   * A new tokenizer with `tokens` appended to added_tokens (e.g. UDPL's `[EOS]` override).
   * Its identity differs from this one's, as its vocabulary does.
   */
  withAddedTokens(tokens: readonly AddedTokenSpec[]): HfTokenizer {
    const base = this.padWasAdded ? { ...this.json, added_tokens: this.json.added_tokens!.filter((t) => t.id !== this.padId) } : this.json;
    return new HfTokenizer(base, this.config, { ...this.options, addedTokens: [...(this.options.addedTokens ?? []), ...tokens] });
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new TokenizerError(this.identity, `token id ${id} is outside the vocabulary (0..${this.vocabSize - 1})`);
    }
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Load a tokenizer from a Hugging Face model folder (its tokenizer.json and, when present,
 * tokenizer_config.json) or from the path of a tokenizer.json (the config beside it is read
 * when present). Errors name the file: missing, unreadable, malformed JSON, bad field.
 */
export async function loadTokenizer(pathOrFolder: string, options: Omit<HfTokenizerOptions, "file" | "configFile"> = {}): Promise<HfTokenizer> {
  if (!(await exists(pathOrFolder))) {
    throw new TokenizerError(pathOrFolder, "no such file or folder (expected a model folder holding tokenizer.json, or the path of a tokenizer.json)");
  }
  const folder = (await isDirectory(pathOrFolder)) ? pathOrFolder : dirname(pathOrFolder);
  const file = folder === pathOrFolder ? join(folder, "tokenizer.json") : pathOrFolder;
  const configFile = join(folder, "tokenizer_config.json");
  const json = await readJsonFile(file);
  const config = (await exists(configFile)) ? await readJsonFile(configFile) : undefined;
  return HfTokenizer.fromJson(json, config, { ...options, file, configFile });
}
