/**
 * The tokenizer.json of a pure byte-level vocabulary: ids 0..255 are the bytes (spelled through
 * the ByteLevel pre-tokenizer's byte↔unicode map, no merges), id 256 is the end-of-text token
 * that also pads, extra tokens follow. The project's own small model ships such a file and
 * loads it through HfTokenizer; its encodings equal ByteTokenizer's (ids 0..255 = bytes).
 */
import { BYTE_TO_UNICODE } from "./byte-unicode.js";
import type { AddedTokenEntry, TokenizerJson } from "./tokenizer-json.js";

/** Content of the end-of-text / pad token at id 256. */
export const BYTE_LEVEL_EOS_TOKEN = "<|endoftext|>";

/**
 * A ByteLevel-BPE tokenizer.json with the 256 byte tokens, `BYTE_LEVEL_EOS_TOKEN` at id 256
 * and `extraTokens` (special added tokens) at 257, 258, …
 */
export function byteLevelTokenizerJson(extraTokens: readonly string[] = []): TokenizerJson {
  const vocab: Record<string, number> = {};
  BYTE_TO_UNICODE.forEach((char, byte) => (vocab[char] = byte));
  const specials = [BYTE_LEVEL_EOS_TOKEN, ...extraTokens.filter((t) => t !== BYTE_LEVEL_EOS_TOKEN)];
  const added_tokens: AddedTokenEntry[] = [...new Set(specials)].map((content, i) => ({
    id: 256 + i,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens,
    normalizer: null,
    // No regex split: with no merges there is nothing to gain from words, and one pass is faster.
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
    post_processor: { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
    decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: [],
    },
  };
}

/** tokenizer_config.json to ship beside it. */
export function byteLevelTokenizerConfig(): Record<string, unknown> {
  return {
    tokenizer_class: "PreTrainedTokenizerFast",
    bos_token: BYTE_LEVEL_EOS_TOKEN,
    eos_token: BYTE_LEVEL_EOS_TOKEN,
    pad_token: BYTE_LEVEL_EOS_TOKEN,
    clean_up_tokenization_spaces: false,
    add_prefix_space: false,
  };
}
