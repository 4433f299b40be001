import { mkdtemp, mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  ADDED_PAD_TOKEN,
  ByteTokenizer,
  HfTokenizer,
  TokenizerError,
  byteLevelTokenizerConfig,
  byteLevelTokenizerJson,
  loadTokenizer,
  withAddedTokens,
  type TokenizerJson,
} from "../../../forge/tokenizer/index.js";
import { loadTestTokenizers, type TestTokenizers } from "../../helpers/tokenizers.js";

const utf8 = new TextEncoder();
const concatBytes = (tokenizer: HfTokenizer, ids: number[]) => Buffer.concat(ids.map((id) => tokenizer.tokenBytes(id)));
/** What a text is after UTF-8 encoding (lone surrogates become U+FFFD). */
const asUtf8 = (text: string) => new TextDecoder().decode(utf8.encode(text));

const SAMPLES = [
  "Hello world",
  "  leading spaces, trailing  ",
  "tabs\tand\r\nnewlines\n\n",
  "naïve café — 東京 🙂👩‍👩‍👧 ﷺ",
  "[Jump] [EOS] [Answer] <|endoftext|>",
  "control \u0000\u0001\u007f bytes",
  "don't I'll we've 12345 3.14159",
];

describe("byte-level tokenizer.json through HfTokenizer", () => {
  const byte = new ByteTokenizer();
  const hf = HfTokenizer.fromJson(byteLevelTokenizerJson(), byteLevelTokenizerConfig());

  it("has 256 byte tokens and an end-of-text pad at 256, like ByteTokenizer", () => {
    expect(hf.vocabSize).toBe(257);
    expect(hf.padId).toBe(256);
    expect(hf.spelling.kind).toBe("byte-level");
    for (let id = 0; id < 256; id++) expect(Array.from(hf.tokenBytes(id))).toEqual([id]);
    expect(new TextDecoder().decode(hf.tokenBytes(256))).toBe("<|endoftext|>");
  });

  it("encodes arbitrary UTF-8 text exactly as ByteTokenizer does", () => {
    for (const text of SAMPLES.filter((s) => !s.includes("<|endoftext|>"))) expect(hf.encode(text)).toEqual(byte.encode(text));
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 80 }), (text) => {
        expect(hf.encode(text)).toEqual(byte.encode(text));
        expect(hf.decode(hf.encode(text))).toBe(asUtf8(text));
      }),
      { numRuns: 300 },
    );
  });

  it("puts extra tokens after the pad and matches them whole", () => {
    const withExtras = HfTokenizer.fromJson(byteLevelTokenizerJson(["[Jump]", "[EOS]"]));
    expect(withExtras.vocabSize).toBe(259);
    expect(withExtras.encode("a[EOS]")).toEqual([97, 258]);
    expect(withExtras.identity).not.toBe(hf.identity);
  });
});

describe("HfTokenizer over GPT-2 and Llama 3", () => {
  let tk: TestTokenizers;
  beforeAll(async () => {
    tk = await loadTestTokenizers();
  });

  it("reads the pad from the eos token", () => {
    expect(tk.gpt2.padId).toBe(50256);
    expect(tk.gpt2.padWasAdded).toBe(false);
    expect(tk.llama3.padId).toBe(128001); // tokenizer_config.json: eos_token <|end_of_text|>
    expect(tk.llama3.vocabSize).toBe(128256);
  });

  it("tokenBytes of the encoding concatenate to the text's UTF-8 bytes", () => {
    for (const tokenizer of [tk.gpt2, tk.llama3]) {
      for (const text of SAMPLES) expect(concatBytes(tokenizer, tokenizer.encode(text)).toString("utf8")).toBe(text);
      fc.assert(
        fc.property(fc.string({ unit: "binary", maxLength: 60 }), (text) => {
          const ids = tokenizer.encode(text);
          expect(concatBytes(tokenizer, ids)).toEqual(Buffer.from(utf8.encode(text)));
          expect(tokenizer.decode(ids)).toBe(asUtf8(text));
        }),
        { numRuns: 200 },
      );
    }
  });

  it("gives the bytes of ByteLevel vocabulary entries, partial UTF-8 included", () => {
    const [space] = tk.gpt2.encode(" ");
    expect(Array.from(tk.gpt2.tokenBytes(space!))).toEqual([0x20]);
    const emoji = tk.llama3.encode("🙂");
    expect(Buffer.concat(emoji.map((id) => tk.llama3.tokenBytes(id)))).toEqual(Buffer.from("🙂"));
    expect(new TextDecoder().decode(tk.llama3.tokenBytes(128001))).toBe("<|end_of_text|>");
  });

  it("decodes exactly: no cleanup of spaces before punctuation, empty input is empty", () => {
    const text = "a . b , c ! don 't";
    expect(tk.llama3.decode(tk.llama3.encode(text))).toBe(text);
    expect(tk.gpt2.decode([])).toBe("");
    expect(tk.gpt2.encode("")).toEqual([]);
  });

  it("refuses ids outside the vocabulary", () => {
    expect(() => tk.gpt2.decode([50257])).toThrow(/gpt2\/[0-9a-f]{16}: token id 50257 is outside the vocabulary \(0\.\.50256\)/);
    expect(() => tk.gpt2.tokenBytes(-1)).toThrow(TokenizerError);
  });

  it("has identities name/16-hex that differ between vocabularies and are stable across loads", async () => {
    expect(tk.gpt2.identity).toMatch(/^gpt2\/[0-9a-f]{16}$/);
    expect(tk.llama3.identity).toMatch(/^llama3\/[0-9a-f]{16}$/);
    const again = HfTokenizer.fromJson(structuredClone(tk.gpt2.json), tk.gpt2.config, { name: "gpt2" });
    expect(again.identity).toBe(tk.gpt2.identity);
    expect(HfTokenizer.fromJson(tk.gpt2.json).identity).toBe(`byte-level-bpe-50257/${tk.gpt2.identity.split("/")[1]}`);
    // One merge less changes the identity.
    const json = structuredClone(tk.gpt2.json);
    json.model.merges = json.model.merges!.slice(1);
    expect(HfTokenizer.fromJson(json, undefined, { name: "gpt2" }).identity).not.toBe(tk.gpt2.identity);
  });

  it("adds tokens before construction (UDPL tokenizer_override)", () => {
    const before = tk.gpt2.encode("x [EOS] y");
    expect(before.length).toBeGreaterThan(4); // [EOS] is several GPT-2 tokens
    const json = tk.gpt2.json;
    const extended = withAddedTokens(json, ["[EOS]", "[EOS]", { content: "[Jump]", special: false }]);
    expect(json.added_tokens).toHaveLength(1); // the input is not modified
    expect(extended.added_tokens!.map((t) => [t.id, t.content])).toEqual([
      [50256, "<|endoftext|>"],
      [50257, "[EOS]"],
      [50258, "[Jump]"],
    ]);
    const overridden = tk.gpt2.withAddedTokens(["[EOS]"]);
    expect(overridden.vocabSize).toBe(50258);
    expect(overridden.encode("x [EOS] y")).toEqual([87, 220, 50257, 331]);
    expect(new TextDecoder().decode(overridden.tokenBytes(50257))).toBe("[EOS]");
    expect(overridden.decode(overridden.encode("x [EOS] y"))).toBe("x [EOS] y");
    expect(overridden.identity).not.toBe(tk.gpt2.identity);
    expect(overridden.identity.startsWith("gpt2/")).toBe(true);
  });
});

// A SentencePiece-style vocabulary, written here in the two layouts real files use: a
// Metaspace pre-tokenizer (newer files) and Llama 2's Prepend/Replace normalizer with a
// ByteFallback decoder. Byte fallback covers characters missing from the vocabulary.
const M = "\u2581";
function sentencePieceJson(layout: "metaspace" | "llama2"): TokenizerJson {
  const vocab: Record<string, number> = { "<unk>": 0, "<s>": 1, "</s>": 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`] = 3 + b;
  for (const piece of [M, "h", "e", "l", "o", "w", "r", "d", M + "h", "he", "ll", "llo", "hello", M + "hello", M + "w", "or", M + "wor", "ld", M + "world"]) {
    vocab[piece] ??= Object.keys(vocab).length;
  }
  const merges = [[M, "h"], ["h", "e"], ["l", "l"], ["ll", "o"], ["he", "llo"], [M, "hello"], [M, "w"], ["o", "r"], [M + "w", "or"], ["l", "d"], [M + "wor", "ld"]].map(([a, b]) => `${a} ${b}`);
  const specials = ["<unk>", "<s>", "</s>"].map((content, id) => ({ id, content, special: true, normalized: false }));
  const model = { type: "BPE", unk_token: "<unk>", byte_fallback: true, fuse_unk: true, vocab, merges, ignore_merges: false };
  if (layout === "metaspace") {
    return {
      added_tokens: specials, model, normalizer: null, post_processor: null,
      pre_tokenizer: { type: "Metaspace", replacement: M, prepend_scheme: "first", split: false },
      decoder: { type: "Sequence", decoders: [{ type: "Metaspace", replacement: M, prepend_scheme: "first", split: false }, { type: "ByteFallback" }, { type: "Fuse" }] },
    };
  }
  return {
    added_tokens: specials, model, pre_tokenizer: null, post_processor: null,
    normalizer: { type: "Sequence", normalizers: [{ type: "Prepend", prepend: M }, { type: "Replace", pattern: { String: " " }, content: M }] },
    decoder: { type: "Sequence", decoders: [{ type: "Replace", pattern: { String: M }, content: " " }, { type: "ByteFallback" }, { type: "Fuse" }, { type: "Strip", content: " ", start: 1, stop: 0 }] },
  };
}

describe("tokenBytes of SentencePiece vocabularies", () => {
  for (const layout of ["metaspace", "llama2"] as const) {
    it(`${layout}: ▁ is a space, <0xNN> is the byte NN, and the bytes give back the text`, () => {
      const tokenizer = HfTokenizer.fromJson(sentencePieceJson(layout), { eos_token: "</s>" });
      expect(tokenizer.spelling.kind).toBe("metaspace");
      expect(tokenizer.padId).toBe(2);
      const hello = tokenizer.json.model.vocab as Record<string, number>;
      expect(new TextDecoder().decode(tokenizer.tokenBytes(hello[M + "hello"]!))).toBe(" hello");
      expect(Array.from(tokenizer.tokenBytes(hello["<0xE2>"]!))).toEqual([0xe2]);
      for (const text of ["hello world", "hello wörld 🙂", "héllo\tworld"]) {
        const ids = tokenizer.encode(text);
        // The pre-tokenizer / normalizer puts a "▁" in front of the text; its bytes are that space.
        expect(concatBytes(tokenizer, ids).toString("utf8")).toBe(" " + text);
        expect(tokenizer.decode(ids)).toBe(text);
      }
      expect(tokenizer.encode("wö").some((id) => id >= 3 && id < 259)).toBe(true); // byte fallback was used
    });
  }
});

describe("pad token", () => {
  const bare = (): TokenizerJson => {
    const json = byteLevelTokenizerJson();
    return { ...json, added_tokens: [] };
  };

  it("is added when the vocabulary has neither pad nor eos; it decodes to nothing", () => {
    const tokenizer = HfTokenizer.fromJson(bare());
    expect(tokenizer.padWasAdded).toBe(true);
    expect(tokenizer.padId).toBe(256);
    expect(tokenizer.vocabSize).toBe(257);
    expect(tokenizer.json.added_tokens!.at(-1)!.content).toBe(ADDED_PAD_TOKEN);
    expect(tokenizer.tokenBytes(256)).toHaveLength(0);
    expect(tokenizer.decode([104, 256, 105])).toBe("hi");
  });

  it("follows tokenizer_config.json's pad_token, adding it when the vocabulary lacks it", () => {
    const tokenizer = HfTokenizer.fromJson(byteLevelTokenizerJson(["<pad>"]), { pad_token: { content: "<pad>" }, eos_token: "<|endoftext|>" });
    expect(tokenizer.padId).toBe(257);
    const added = HfTokenizer.fromJson(bare(), { pad_token: "[PAD]" });
    expect(added.padId).toBe(256);
    expect(added.padWasAdded).toBe(false);
    expect(added.decode([256])).toBe("[PAD]");
  });
});

describe("errors name the file and the field", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "forge-tokenizer-"));
  });

  async function folderWith(name: string, files: Record<string, string>): Promise<string> {
    const folder = join(dir, name);
    await mkdir(folder, { recursive: true });
    for (const [file, text] of Object.entries(files)) await writeFile(join(folder, file), text);
    return folder;
  }

  async function loadError(path: string): Promise<TokenizerError> {
    const error = await loadTokenizer(path).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(TokenizerError);
    return error as TokenizerError;
  }

  it("loads a folder with tokenizer.json and tokenizer_config.json, or the file's path", async () => {
    const folder = await folderWith("good", {
      "tokenizer.json": JSON.stringify(byteLevelTokenizerJson(["<pad>"])),
      "tokenizer_config.json": JSON.stringify({ pad_token: "<pad>" }),
    });
    expect((await loadTokenizer(folder)).padId).toBe(257);
    expect((await loadTokenizer(join(folder, "tokenizer.json"))).padId).toBe(257);
    expect((await loadTokenizer(folder, { name: "mine" })).identity).toMatch(/^mine\//);
  });

  it("a missing tokenizer.json", async () => {
    const folder = await folderWith("empty", {});
    const error = await loadError(folder);
    expect(error.message).toBe(`${join(folder, "tokenizer.json")}: file not found`);
    const nowhere = await loadError(join(dir, "nowhere"));
    expect(nowhere.file).toBe(join(dir, "nowhere"));
    expect(nowhere.message).toContain("no such file or folder");
  });

  it("malformed JSON, with line and column", async () => {
    const folder = await folderWith("badjson", { "tokenizer.json": '{\n  "model": {\n    "vocab" {}\n  }\n}' });
    const error = await loadError(folder);
    expect(error.file).toBe(join(folder, "tokenizer.json"));
    expect(error.message).toMatch(/tokenizer\.json: malformed JSON at line 3, column 13/);
  });

  it("a missing or wrong field", () => {
    expect(() => HfTokenizer.fromJson({ version: "1.0" })).toThrow("<in-memory tokenizer.json>: field `model`:");
    expect(() => HfTokenizer.fromJson({ model: { type: "BPE", vocab: 3 } })).toThrow(/field `model\.vocab`: must be an object/);
    expect(() => HfTokenizer.fromJson({ model: { type: "BPE", vocab: { a: 0, b: "one" }, merges: [] } })).toThrow(
      'field `model.vocab.b`: expected a non-negative integer id, got "one"',
    );
    expect(() => HfTokenizer.fromJson({ model: { type: "BPE", vocab: { a: 0 }, merges: ["ab"] } })).toThrow("field `model.merges[0]`");
    const twice = { ...byteLevelTokenizerJson(), added_tokens: [{ id: 256, content: "x" }, { id: 256, content: "y" }] };
    expect(() => HfTokenizer.fromJson(twice)).toThrow("field `added_tokens[1].id`: id 256 is used by two added tokens");
    expect(() => HfTokenizer.fromJson({ ...byteLevelTokenizerJson(), added_tokens: [{ id: -1, content: "x" }] })).toThrow("field `added_tokens[0].id`");
  });

  it("a component the library cannot build", () => {
    const json = { ...byteLevelTokenizerJson(), pre_tokenizer: { type: "NoSuchPreTokenizer" } };
    expect(() => HfTokenizer.fromJson(json, undefined, { file: "model/tokenizer.json" })).toThrow(
      /^model\/tokenizer\.json: @huggingface\/tokenizers cannot build this tokenizer: .*NoSuchPreTokenizer/,
    );
  });

  it("a malformed tokenizer_config.json names that file", async () => {
    const folder = await folderWith("badconfig", {
      "tokenizer.json": JSON.stringify(byteLevelTokenizerJson()),
      "tokenizer_config.json": JSON.stringify({ eos_token: 7 }),
    });
    const error = await loadError(folder);
    expect(error.file).toBe(join(folder, "tokenizer_config.json"));
    expect(error.field).toBe("eos_token");
  });
});
