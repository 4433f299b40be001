import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { BYTE_TO_UNICODE, UNICODE_TO_BYTE, byteLevelTokenToBytes, bytesToByteLevelToken } from "../../../forge/tokenizer/index.js";

describe("GPT-2 byte ↔ unicode map", () => {
  it("maps the 256 bytes to 256 distinct single characters", () => {
    expect(BYTE_TO_UNICODE).toHaveLength(256);
    expect(new Set(BYTE_TO_UNICODE).size).toBe(256);
    expect(UNICODE_TO_BYTE.size).toBe(256);
    for (const char of BYTE_TO_UNICODE) expect([...char]).toHaveLength(1);
  });

  it("spells printable bytes as themselves and moves the others past U+00FF", () => {
    expect(BYTE_TO_UNICODE[0x41]).toBe("A");
    expect(BYTE_TO_UNICODE[0x20]).toBe("Ġ"); // space
    expect(BYTE_TO_UNICODE[0x0a]).toBe("Ċ"); // newline
    expect(BYTE_TO_UNICODE[0x00]).toBe("Ā");
    expect(BYTE_TO_UNICODE[0xad]).toBe("Ń"); // soft hyphen, the 68th non-printable byte: U+0100 + 67
  });

  it("round-trips any byte string", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(byteLevelTokenToBytes(bytesToByteLevelToken(bytes))).toEqual(bytes);
      }),
    );
  });

  it("rejects a character outside the map", () => {
    expect(byteLevelTokenToBytes("a b")).toBeNull(); // a raw space is not a ByteLevel character
  });
});
