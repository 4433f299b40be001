/**
 * Real BPE tokenizers of a chosen size for the benchmark models: GPT-2's byte-level BPE cut
 * to its first `size - 1` entries (the 256 bytes and the first merges, in rank order: merge i
 * produces id 256 + i) plus <|endoftext|> as the last id. Forced text then costs about as
 * many tokens as with GPT-2 itself. 8 192 tokens for the benchmark model here
 * (docs/engine.md#backend-facts: 4-layer, width-256, vocab-8k shape); 49 152 for the
 * SmolLM2-135M-shaped model of bench/engine.
 */
import { convertGpt3EncoderFiles, gpt2TokenizerConfig, GPT2_EOS_TOKEN, HfTokenizer } from "../../forge/tokenizer/index.js";

export const GPT2_8K_VOCAB_SIZE = 8192;

export async function loadGpt2TokenizerCut(size: number, name = `gpt2-${size}`): Promise<HfTokenizer> {
  const full = await convertGpt3EncoderFiles();
  const keep = size - 1; // ids 0 … size - 2 from the BPE model; size - 1 is end of text
  const vocab = full.model.vocab as Record<string, number>;
  const cutVocab: Record<string, number> = {};
  for (const [token, id] of Object.entries(vocab)) if (id < keep) cutVocab[token] = id;
  const merges = (full.model.merges as string[]).slice(0, keep - 256);
  // The cut is only a valid BPE model when every kept merge produces a kept token.
  merges.forEach((merge, i) => {
    const produced = merge.replace(" ", "");
    if (cutVocab[produced] !== 256 + i) throw new Error(`${name}: merge ${i} (${merge}) produces id ${vocab[produced]}, expected ${256 + i}`);
  });
  cutVocab[GPT2_EOS_TOKEN] = keep;
  const json = {
    ...full,
    added_tokens: [{ id: keep, content: GPT2_EOS_TOKEN, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    model: { ...full.model, vocab: cutVocab, merges },
  };
  return HfTokenizer.fromJson(json, gpt2TokenizerConfig(), { name, file: `<gpt-2 tokenizer.json cut to ${size} tokens>` });
}

export function loadGpt2Tokenizer8k(): Promise<HfTokenizer> {
  return loadGpt2TokenizerCut(GPT2_8K_VOCAB_SIZE, "gpt2-8k");
}
