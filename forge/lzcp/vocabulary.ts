/** Capture a tokenizer's vocabulary as bytes, once, so later stages need no tokenizer. */
import type { ForgeTokenizer } from "../tokenizer/types.js";
import type { TokenVocabulary } from "./types.js";

/** One capture per tokenizer object: every workflow lowered for a backend reuses it. */
const captured = new WeakMap<object, TokenVocabulary>();

export function vocabularyOf(tokenizer: Pick<ForgeTokenizer, "vocabSize" | "tokenBytes">): TokenVocabulary {
  const cached = captured.get(tokenizer);
  if (cached && cached.vocabSize === tokenizer.vocabSize) return cached;
  const vocabulary = captureVocabulary(tokenizer);
  captured.set(tokenizer, vocabulary);
  return vocabulary;
}

function captureVocabulary(tokenizer: Pick<ForgeTokenizer, "vocabSize" | "tokenBytes">): TokenVocabulary {
  const size = tokenizer.vocabSize;
  const offsets = new Int32Array(size + 1);
  const pieces: Uint8Array[] = new Array(size);
  let total = 0;
  for (let id = 0; id < size; id++) {
    const piece = tokenizer.tokenBytes(id);
    pieces[id] = piece;
    offsets[id] = total;
    total += piece.length;
  }
  offsets[size] = total;
  const bytes = new Uint8Array(total);
  for (let id = 0; id < size; id++) bytes.set(pieces[id]!, offsets[id]!);
  return { vocabSize: size, bytes, offsets };
}

/** The bytes of one token (a view, not a copy); tokens outside the vocabulary have none. */
export function tokenBytesOf(vocabulary: TokenVocabulary, id: number): Uint8Array {
  if (id < 0 || id >= vocabulary.vocabSize) return new Uint8Array(0);
  return vocabulary.bytes.subarray(vocabulary.offsets[id]!, vocabulary.offsets[id + 1]!);
}
