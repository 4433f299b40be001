/**
 * A real 8 192-token BPE tokenizer for the benchmark model (docs/engine.md#backend-facts: 4-layer, width-256,
 * vocab-8k shape): GPT-2's byte-level BPE cut to its first 8 191 entries (the 256 bytes and
 * the first 7 935 merges, in rank order: merge i produces id 256 + i) plus <|endoftext|>
 * as id 8 191. Forced text then costs about as many tokens as with GPT-2 itself.
 */
import { convertGpt3EncoderFiles, gpt2TokenizerConfig, GPT2_EOS_TOKEN, HfTokenizer } from "../../forge/tokenizer/index.js";

export const GPT2_8K_VOCAB_SIZE = 8192;

export async function loadGpt2Tokenizer8k(): Promise<HfTokenizer> {
  const full = await convertGpt3EncoderFiles();
  const keep = GPT2_8K_VOCAB_SIZE - 1; // ids 0 … 8190 from the BPE model; 8191 is end of text
  const vocab = full.model.vocab as Record<string, number>;
  const cutVocab: Record<string, number> = {};
  for (const [token, id] of Object.entries(vocab)) if (id < keep) cutVocab[token] = id;
  const merges = (full.model.merges as string[]).slice(0, keep - 256);
  // The cut is only a valid BPE model when every kept merge produces a kept token.
  merges.forEach((merge, i) => {
    const produced = merge.replace(" ", "");
    if (cutVocab[produced] !== 256 + i) throw new Error(`gpt2-8k: merge ${i} (${merge}) produces id ${vocab[produced]}, expected ${256 + i}`);
  });
  cutVocab[GPT2_EOS_TOKEN] = keep;
  const json = {
    ...full,
    added_tokens: [{ id: keep, content: GPT2_EOS_TOKEN, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    model: { ...full.model, vocab: cutVocab, merges },
  };
  return HfTokenizer.fromJson(json, gpt2TokenizerConfig(), { name: "gpt2-8k", file: "<gpt-2 tokenizer.json cut to 8 192 tokens>" });
}
