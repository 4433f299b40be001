import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { encode as referenceEncode } from "gpt-3-encoder";
import {
  GPT2_VOCAB_SIZE,
  HfTokenizer,
  TokenizerError,
  gpt2TokenizerJson,
  loadGpt2Tokenizer,
  loadTokenizer,
} from "../../../forge/tokenizer/index.js";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

describe("GPT-2 tokenizer converted from gpt-3-encoder", () => {
  let gpt2: HfTokenizer;
  beforeAll(async () => {
    gpt2 = await loadGpt2Tokenizer();
  });

  it("encodes known GPT-2 token ids", () => {
    expect(gpt2.encode("Hello world")).toEqual([15496, 995]);
    expect(gpt2.encode("<|endoftext|>")).toEqual([50256]);
    expect(gpt2.vocabSize).toBe(GPT2_VOCAB_SIZE);
    expect(gpt2.identity).toMatch(/^gpt2\/[0-9a-f]{16}$/);
  });

  it("agrees with gpt-3-encoder's own BPE on real text and on random text", async () => {
    // Real mixed text: the tokenizer stage's own sources (code, comments, unicode).
    const folder = join(repoRoot, "forge", "tokenizer");
    for (const file of (await readdir(folder)).filter((f) => f.endsWith(".ts"))) {
      // gpt-3-encoder knows no special tokens: spell the end-of-text marker differently.
      const text = (await readFile(join(folder, file), "utf8")).replaceAll("<|endoftext|>", "<|end-of-text|>");
      expect(gpt2.encode(text), file).toEqual(referenceEncode(text));
    }
    // The one intended difference: the added end-of-text token is matched whole.
    expect(gpt2.encode("a<|endoftext|>")).toEqual([...referenceEncode("a"), 50256]);
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 60 }), (text) => {
        expect(gpt2.encode(text)).toEqual(referenceEncode(text));
      }),
      { numRuns: 300 },
    );
  });

  it("loads once per process", async () => {
    expect(await loadGpt2Tokenizer()).toBe(gpt2);
  });

  it("reports bad input files by name and line", () => {
    const encoder = { a: 0, b: 1, ab: 2, "<|endoftext|>": 3 };
    expect(gpt2TokenizerJson(encoder, "#version: 0.2\na b\n").model.merges).toEqual(["a b"]);
    expect(() => gpt2TokenizerJson(encoder, "#version: 0.2\na b\na b c\n")).toThrow(TokenizerError);
    expect(() => gpt2TokenizerJson(encoder, "#version: 0.2\na b\na b c\n")).toThrow('vocab.bpe: line 3: expected "left right", got "a b c"');
    expect(() => gpt2TokenizerJson(encoder, "#version: 0.2\na z\n")).toThrow('vocab.bpe: line 2: "z" is not in encoder.json');
    expect(() => gpt2TokenizerJson({ a: 0 }, "")).toThrow("encoder.json: has no <|endoftext|> entry");
  });

  it("scripts/convert-gpt2-tokenizer.ts writes a tokenizer.json that loads with the same identity", async () => {
    const out = await mkdtemp(join(tmpdir(), "forge-gpt2-"));
    const tsx = join(repoRoot, "node_modules", ".bin", "tsx");
    const { stdout } = await promisify(execFile)(tsx, [join(repoRoot, "scripts", "convert-gpt2-tokenizer.ts"), "--out", out], { cwd: repoRoot });
    expect(stdout).toContain(`identity ${gpt2.identity}`);
    const reloaded = await loadTokenizer(out, { name: "gpt2" });
    expect(reloaded.identity).toBe(gpt2.identity);
    expect(reloaded.padId).toBe(50256);
    expect(reloaded.encode("Hello world")).toEqual([15496, 995]);
  });
});
