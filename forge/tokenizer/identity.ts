/**
 * Tokenizer identity: a readable name plus a hash of the vocabulary. A TTFA program records
 * the identity of the tokenizer that made its token arrays; a backend whose tokenizer has a
 * different identity refuses the program. The hash covers what gives ids their meaning — the
 * model type, every (id, entry) pair, the merges, the added tokens and how entries spell bytes
 * — and nothing about where the file was loaded from, so it is stable across loads and machines.
 */
import { createHash } from "node:crypto";
import type { TokenizerJson } from "./tokenizer-json.js";
import { modelTokensById, vocabularySize } from "./tokenizer-json.js";
import type { VocabularySpelling } from "./token-bytes.js";

/** Length of the hex sha256 prefix in an identity. */
export const IDENTITY_HASH_LENGTH = 16;

/** Full hex sha256 of the vocabulary content (see the file comment for what it covers). */
export function vocabularyHash(json: TokenizerJson, spelling: VocabularySpelling): string {
  const hash = createHash("sha256");
  // Fields are joined with \u0000 and \u0001, which appear in no vocabulary entry as such
  // (byte-level vocabularies spell byte 0 as "Ā"); JSON.stringify makes each entry unambiguous.
  hash.update(`model\u0000${json.model.type ?? ""}\u0000spelling\u0000${JSON.stringify(spelling)}\u0001`);
  modelTokensById(json).forEach((token, id) => {
    if (token !== undefined) hash.update(`${id}\u0000${JSON.stringify(token)}\u0001`);
  });
  hash.update("merges\u0001");
  for (const merge of json.model.merges ?? []) {
    hash.update(typeof merge === "string" ? merge : `${merge[0]} ${merge[1]}`);
    hash.update("\u0001");
  }
  hash.update("added\u0001");
  const added = [...(json.added_tokens ?? [])].sort((a, b) => a.id - b.id);
  for (const token of added) hash.update(`${token.id}\u0000${JSON.stringify(token.content)}\u0000${token.special ? 1 : 0}\u0001`);
  return hash.digest("hex");
}

/** A name describing the vocabulary when the caller gives none, e.g. "byte-level-bpe-50257". */
export function describeVocabulary(json: TokenizerJson, spelling: VocabularySpelling): string {
  const type = (json.model.type ?? (Array.isArray(json.model.vocab) ? "unigram" : "bpe")).toLowerCase();
  return `${spelling.kind}-${type}-${vocabularySize(json)}`;
}

/** `name/hashprefix`, e.g. "gpt2/3f1c…" (16 hex digits). */
export function tokenizerIdentity(name: string, json: TokenizerJson, spelling: VocabularySpelling): string {
  return `${name}/${vocabularyHash(json, spelling).slice(0, IDENTITY_HASH_LENGTH)}`;
}
