/**
 * GPT-2's byte ↔ unicode map, used by every ByteLevel BPE vocabulary (GPT-2, Llama 3, Qwen…).
 * Each byte 0..255 is drawn as one printable character so that vocabulary entries are plain
 * strings: printable Latin-1 bytes stand for themselves, the other 68 bytes (controls, space,
 * 0x7F–0xA0, 0xAD) are moved to U+0100 onward — space becomes "Ġ" (U+0120), "\n" becomes "Ċ".
 */

function buildByteToUnicode(): string[] {
  const printable: number[] = [];
  const addRange = (from: number, to: number) => {
    for (let b = from; b <= to; b++) printable.push(b);
  };
  addRange(0x21, 0x7e); // "!" .. "~"
  addRange(0xa1, 0xac); // "¡" .. "¬"
  addRange(0xae, 0xff); // "®" .. "ÿ"
  const map = new Array<string>(256);
  for (const b of printable) map[b] = String.fromCharCode(b);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    if (map[b] === undefined) map[b] = String.fromCharCode(256 + next++);
  }
  return map;
}

/** `BYTE_TO_UNICODE[b]` is the character standing for byte b in a ByteLevel vocabulary. */
export const BYTE_TO_UNICODE: readonly string[] = buildByteToUnicode();

/** Inverse of BYTE_TO_UNICODE: character → byte. */
export const UNICODE_TO_BYTE: ReadonlyMap<string, number> = new Map(
  BYTE_TO_UNICODE.map((char, byte) => [char, byte] as const),
);

/** Bytes of a ByteLevel vocabulary entry, or null if a character is outside the map. */
export function byteLevelTokenToBytes(token: string): Uint8Array | null {
  const bytes = new Uint8Array(token.length);
  let n = 0;
  for (const char of token) {
    const byte = UNICODE_TO_BYTE.get(char);
    if (byte === undefined) return null;
    bytes[n++] = byte;
  }
  return bytes.subarray(0, n);
}

/** The ByteLevel vocabulary entry spelling the given bytes. */
export function bytesToByteLevelToken(bytes: ArrayLike<number>): string {
  let token = "";
  for (let i = 0; i < bytes.length; i++) token += BYTE_TO_UNICODE[bytes[i]!]!;
  return token;
}
