/**
 * The tokenizer.json / tokenizer_config.json files as data: their shape, how they are read
 * and checked (errors name the file and the field), and the edits Forge makes to them before
 * handing them to @huggingface/tokenizers — appending added tokens, since that library has no
 * runtime `add_tokens`.
 */
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { TokenizerError } from "./errors.js";

/** One entry of `added_tokens`: a string matched whole in the input before the model runs. */
export interface AddedTokenEntry {
  id: number;
  content: string;
  single_word?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
  normalized?: boolean;
  special?: boolean;
}

/** The `model` section. BPE and WordPiece keep `vocab` as token → id; Unigram as [token, score][] (id = index). */
export interface TokenizerModelJson {
  type?: string;
  vocab: Record<string, number> | Array<[string, number]>;
  merges?: Array<string | [string, string]>;
  unk_token?: string | null;
  byte_fallback?: boolean;
  [key: string]: unknown;
}

/** A Hugging Face tokenizer.json, as far as Forge reads it; other fields pass through untouched. */
export interface TokenizerJson {
  version?: string;
  added_tokens?: AddedTokenEntry[];
  normalizer?: unknown;
  pre_tokenizer?: unknown;
  post_processor?: unknown;
  decoder?: unknown;
  model: TokenizerModelJson;
  [key: string]: unknown;
}

/** A special-token field of tokenizer_config.json: a string or an AddedToken-like object. */
export type SpecialTokenField = string | { content: string } | null | undefined;

/** tokenizer_config.json, as far as Forge reads it. */
export interface TokenizerConfigJson {
  pad_token?: SpecialTokenField;
  eos_token?: SpecialTokenField;
  bos_token?: SpecialTokenField;
  unk_token?: SpecialTokenField;
  name_or_path?: string;
  [key: string]: unknown;
}

// ---- validation -------------------------------------------------------------------------

const addedTokenSchema = z.looseObject({
  id: z.number().int().nonnegative(),
  content: z.string().min(1),
  single_word: z.boolean().optional(),
  lstrip: z.boolean().optional(),
  rstrip: z.boolean().optional(),
  normalized: z.boolean().optional(),
  special: z.boolean().optional(),
});

// Vocabularies hold 10⁵ entries: their entries are checked by one loop (below), not by zod
// per entry, which keeps validating Llama 3's tokenizer.json to a few milliseconds.
const modelSchema = z.looseObject({
  type: z.string().optional(),
  vocab: z.custom<TokenizerModelJson["vocab"]>((v) => typeof v === "object" && v !== null, {
    error: "must be an object (token → id) or an array of [token, score] pairs",
  }),
  merges: z.custom<unknown[]>((v) => Array.isArray(v), { error: "must be an array of merges" }).optional(),
  unk_token: z.string().nullable().optional(),
  byte_fallback: z.boolean().nullable().optional(),
});

const tokenizerJsonSchema = z.looseObject({
  model: modelSchema,
  added_tokens: z.array(addedTokenSchema).nullable().optional(),
});

const specialTokenFieldSchema = z
  .union([z.string(), z.looseObject({ content: z.string() })])
  .nullable()
  .optional();

const tokenizerConfigSchema = z.looseObject({
  pad_token: specialTokenFieldSchema,
  eos_token: specialTokenFieldSchema,
  bos_token: specialTokenFieldSchema,
  unk_token: specialTokenFieldSchema,
  name_or_path: z.string().optional(),
});

/** `["added_tokens", 3, "id"]` → `added_tokens[3].id`. */
function fieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) out += out === "" ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out === "" ? "(top level)" : out;
}

function firstIssue(error: z.ZodError): { field: string; message: string } {
  const issue = error.issues[0]!;
  return { field: fieldPath(issue.path), message: issue.message };
}

/** Check the vocabulary entries one loop at a time (see modelSchema). */
function checkVocabulary(model: TokenizerModelJson, file: string): void {
  if (Array.isArray(model.vocab)) {
    model.vocab.forEach((entry, i) => {
      if (!Array.isArray(entry) || typeof entry[0] !== "string" || typeof entry[1] !== "number") {
        throw new TokenizerError(file, "expected a [token, score] pair", `model.vocab[${i}]`);
      }
    });
    return;
  }
  for (const token in model.vocab) {
    const id = model.vocab[token];
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0) {
      throw new TokenizerError(file, `expected a non-negative integer id, got ${JSON.stringify(id)}`, fieldPath(["model", "vocab", token]));
    }
  }
  const merges = model.merges;
  if (merges !== undefined) {
    for (let i = 0; i < merges.length; i++) {
      const m = merges[i];
      const ok = typeof m === "string" ? m.includes(" ") : Array.isArray(m) && m.length === 2 && typeof m[0] === "string" && typeof m[1] === "string";
      if (!ok) throw new TokenizerError(file, `expected "left right" or [left, right], got ${JSON.stringify(m)}`, `model.merges[${i}]`);
    }
  }
}

/**
 * Check a parsed tokenizer.json and return it with the keys @huggingface/tokenizers insists on
 * (`normalizer`, `pre_tokenizer`, `post_processor`, `decoder`, `added_tokens`) filled with
 * their defaults. Returns a shallow copy; the input is not modified.
 */
export function validateTokenizerJson(value: unknown, file: string): TokenizerJson {
  const parsed = tokenizerJsonSchema.safeParse(value);
  if (!parsed.success) {
    const { field, message } = firstIssue(parsed.error);
    throw new TokenizerError(file, message, field);
  }
  const json = value as TokenizerJson;
  checkVocabulary(json.model, file);
  const addedIds = new Set<number>();
  (json.added_tokens ?? []).forEach((token, i) => {
    if (addedIds.has(token.id)) throw new TokenizerError(file, `id ${token.id} is used by two added tokens`, `added_tokens[${i}].id`);
    addedIds.add(token.id);
  });
  return {
    ...json,
    added_tokens: json.added_tokens ?? [],
    normalizer: json.normalizer ?? null,
    pre_tokenizer: json.pre_tokenizer ?? null,
    post_processor: json.post_processor ?? null,
    decoder: json.decoder ?? null,
  };
}

/** Check a parsed tokenizer_config.json. */
export function validateTokenizerConfig(value: unknown, file: string): TokenizerConfigJson {
  const parsed = tokenizerConfigSchema.safeParse(value);
  if (!parsed.success) {
    const { field, message } = firstIssue(parsed.error);
    throw new TokenizerError(file, message, field);
  }
  return value as TokenizerConfigJson;
}

/** `JSON.parse` with an error naming the file, line and column. */
export function parseJsonText(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const position = /at position (\d+)/.exec(message);
    let where = "";
    if (position) {
      const offset = Number(position[1]);
      const before = text.slice(0, offset);
      const line = before.split("\n").length;
      const column = offset - before.lastIndexOf("\n");
      where = ` at line ${line}, column ${column}`;
    }
    throw new TokenizerError(file, `malformed JSON${where}: ${message.replace(/ in JSON at position \d+.*$/, "")}`);
  }
}

/** Read and parse a JSON file; a missing or unreadable file is a TokenizerError naming it. */
export async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new TokenizerError(file, code === "ENOENT" ? "file not found" : `cannot read the file (${code ?? (error as Error).message})`);
  }
  return parseJsonText(text, file);
}

// ---- vocabulary -------------------------------------------------------------------------

/** The content of a special-token field of tokenizer_config.json. */
export function specialTokenContent(field: SpecialTokenField): string | undefined {
  if (field === null || field === undefined) return undefined;
  return typeof field === "string" ? field : field.content;
}

/** One past the largest id used by the model vocabulary or an added token. */
export function vocabularySize(json: TokenizerJson): number {
  let size = 0;
  if (Array.isArray(json.model.vocab)) size = json.model.vocab.length;
  else for (const token in json.model.vocab) size = Math.max(size, json.model.vocab[token]! + 1);
  for (const added of json.added_tokens ?? []) size = Math.max(size, added.id + 1);
  return size;
}

/** id → token string of the model vocabulary (added tokens not included); holes are undefined. */
export function modelTokensById(json: TokenizerJson): (string | undefined)[] {
  const tokens: (string | undefined)[] = [];
  if (Array.isArray(json.model.vocab)) json.model.vocab.forEach(([token], id) => (tokens[id] = token));
  else for (const token in json.model.vocab) tokens[json.model.vocab[token]!] = token;
  return tokens;
}

/** What `withAddedTokens` appends: a string (a special token, not normalized) or a full spec. */
export type AddedTokenSpec = string | (Omit<AddedTokenEntry, "id"> & { id?: never });

/**
 * A copy of `json` whose `added_tokens` also hold `tokens`, with fresh ids after the largest id
 * in use. A token whose content already is an added token is not added twice. Used for UDPL's
 * `tokenizer_override` (`eos_token = "[EOS]"`) and for a missing pad token. The input is not
 * modified (only the `added_tokens` array is copied; the vocabulary is shared).
 */
export function withAddedTokens(json: TokenizerJson, tokens: readonly AddedTokenSpec[]): TokenizerJson {
  const added = [...(json.added_tokens ?? [])];
  const present = new Set(added.map((t) => t.content));
  let nextId = vocabularySize(json);
  for (const spec of tokens) {
    const entry: Omit<AddedTokenEntry, "id"> =
      typeof spec === "string" ? { content: spec } : spec;
    if (entry.content.length === 0) throw new TokenizerError("withAddedTokens", "an added token cannot be empty", "content");
    if (present.has(entry.content)) continue;
    present.add(entry.content);
    added.push({
      id: nextId++,
      content: entry.content,
      single_word: entry.single_word ?? false,
      lstrip: entry.lstrip ?? false,
      rstrip: entry.rstrip ?? false,
      normalized: entry.normalized ?? false,
      special: entry.special ?? true,
    });
  }
  return { ...json, added_tokens: added };
}
