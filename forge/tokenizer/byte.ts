/**
 * One token per byte (ids 0..255) plus a padding id (256). The simplest tokenizer that
 * splits every pattern differently from a BPE vocabulary, and needs no files.
 */
import type { ForgeTokenizer } from "./types.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class ByteTokenizer implements ForgeTokenizer {
  readonly identity = "byte-level/v1";
  readonly vocabSize = 257;
  readonly padId = 256;

  encode(text: string): number[] {
    return Array.from(encoder.encode(text));
  }

  decode(ids: ArrayLike<number>): string {
    const bytes: number[] = [];
    for (let i = 0; i < ids.length; i++) if (ids[i]! < 256) bytes.push(ids[i]!);
    return decoder.decode(new Uint8Array(bytes));
  }

  tokenBytes(id: number): Uint8Array {
    return id < 256 ? new Uint8Array([id]) : new Uint8Array(0);
  }
}
