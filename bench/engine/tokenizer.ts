/**
 * A 49 152-token BPE tokenizer for the SmolLM2-135M-shaped benchmark model: GPT-2's
 * byte-level BPE cut to its first 49 151 entries (the 256 bytes and the first 48 895 merges,
 * in rank order: merge i produces id 256 + i) plus <|endoftext|> as id 49 151 — as
 * bench/ttfa/gpt2-8k.ts cuts it to 8 192. Every id the model can sample is a token.
 */
import { convertGpt3EncoderFiles, gpt2TokenizerConfig, GPT2_EOS_TOKEN, HfTokenizer } from "../../forge/tokenizer/index.js";

export async function loadGpt2TokenizerCut(size: number): Promise<HfTokenizer> {
  const full = await convertGpt3EncoderFiles();
  const keep = size - 1;
  const vocab = full.model.vocab as Record<string, number>;
  const cutVocab: Record<string, number> = {};
  for (const [token, id] of Object.entries(vocab)) if (id < keep) cutVocab[token] = id;
  const merges = (full.model.merges as string[]).slice(0, keep - 256);
  merges.forEach((merge, i) => {
    const produced = merge.replace(" ", "");
    if (cutVocab[produced] !== 256 + i) throw new Error(`gpt2 cut: merge ${i} (${merge}) produces id ${vocab[produced]}, expected ${256 + i}`);
  });
  cutVocab[GPT2_EOS_TOKEN] = keep;
  const json = {
    ...full,
    added_tokens: [{ id: keep, content: GPT2_EOS_TOKEN, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    model: { ...full.model, vocab: cutVocab, merges },
  };
  return HfTokenizer.fromJson(json, gpt2TokenizerConfig(), { name: `gpt2-${size}`, file: `<gpt-2 tokenizer.json cut to ${size} tokens>` });
}
