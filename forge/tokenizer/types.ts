/**
 * The tokenizer as the backend sees it. Implementations: `HfTokenizer` (over
 * @huggingface/tokenizers, loading a tokenizer.json) and `ByteTokenizer` (one token per byte).
 */
export interface ForgeTokenizer {
  /** Stable identity (name + hash of the vocabulary); a TTFA program records it and a
   * backend with a different identity refuses the program. */
  readonly identity: string;
  readonly vocabSize: number;
  /** Token used for padding finished streams (never sampled into a live stream's trace). */
  readonly padId: number;
  /** Encode text without adding special tokens (BOS/EOS are the workflow's business). */
  encode(text: string): number[];
  decode(ids: ArrayLike<number>): string;
  /** The exact bytes of one token (for the byte-level trigger automaton). */
  tokenBytes(id: number): Uint8Array;
}
