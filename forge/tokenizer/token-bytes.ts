/**
 * The exact bytes each token id stands for — what the byte-level trigger automaton runs over
 * (docs/automaton.md#triggers). Vocabulary entries are not bytes: a ByteLevel BPE vocabulary spells bytes
 * through GPT-2's byte↔unicode map ("Ġ" is a space), a SentencePiece vocabulary spells spaces
 * as "▁" and unencodable bytes as "<0xNN>". The spelling is read off the tokenizer.json's
 * pre-tokenizer, normalizer, decoder and model.
 */
import { byteLevelTokenToBytes } from "./byte-unicode.js";
import type { TokenizerJson } from "./tokenizer-json.js";
import { modelTokensById, vocabularySize } from "./tokenizer-json.js";

/**
 * How vocabulary entries spell bytes:
 * - `byte-level`: GPT-2 byte↔unicode map (GPT-2, Llama 3, Qwen, the project's own model);
 * - `metaspace`: SentencePiece style, "▁" (or the configured replacement) for space, `<0xNN>`
 *   for byte fallback (Llama 2, Gemma, T5);
 * - `plain`: the entry is the text itself (WordPiece, with its "##" prefix dropped). Not exact:
 *   such tokenizers drop spaces in the pre-tokenizer, so no per-token bytes reproduce the text.
 */
export type VocabularyKind = "byte-level" | "metaspace" | "plain";

interface Component {
  type?: string;
  [key: string]: unknown;
}

/** A component and, for `Sequence` components, everything inside it. */
function flatten(component: unknown): Component[] {
  if (component === null || typeof component !== "object") return [];
  const c = component as Component;
  const inner = (c.pretokenizers ?? c.normalizers ?? c.decoders ?? c.processors) as unknown;
  return Array.isArray(inner) ? [c, ...inner.flatMap(flatten)] : [c];
}

export interface VocabularySpelling {
  kind: VocabularyKind;
  /** For `metaspace`: the character that stands for a space (default "▁"). */
  spaceMarker: string;
  /** For `plain`: the WordPiece continuation prefix to drop ("##"). */
  continuingPrefix: string;
}

const METASPACE = "\u2581"; // "▁"

/** Read the spelling off a tokenizer.json. */
export function vocabularySpelling(json: TokenizerJson): VocabularySpelling {
  const components = [
    ...flatten(json.pre_tokenizer),
    ...flatten(json.decoder),
    ...flatten(json.normalizer),
  ];
  if (components.some((c) => c.type === "ByteLevel")) {
    return { kind: "byte-level", spaceMarker: " ", continuingPrefix: "" };
  }
  const metaspace = components.find((c) => c.type === "Metaspace");
  if (metaspace) {
    const marker = metaspace.replacement ?? metaspace.str_rep;
    return { kind: "metaspace", spaceMarker: typeof marker === "string" ? marker : METASPACE, continuingPrefix: "" };
  }
  // Llama 2 style: normalizer Replace(" " → "▁") + Prepend("▁"), decoder ByteFallback/Replace.
  const replacesSpace = components.some(
    (c) => c.type === "Replace" && typeof c.content === "string" && (c.content === METASPACE || (c.pattern as { String?: string } | undefined)?.String === METASPACE),
  );
  if (replacesSpace || json.model.byte_fallback === true || components.some((c) => c.type === "ByteFallback")) {
    return { kind: "metaspace", spaceMarker: METASPACE, continuingPrefix: "" };
  }
  const prefix = json.model.continuing_subword_prefix;
  return { kind: "plain", spaceMarker: " ", continuingPrefix: json.model.type === "WordPiece" && typeof prefix === "string" ? prefix : json.model.type === "WordPiece" ? "##" : "" };
}

const utf8 = new TextEncoder();
const BYTE_FALLBACK = /^<0x([0-9A-Fa-f]{2})>$/;

/** The bytes one model-vocabulary entry stands for under the given spelling. */
export function vocabularyEntryBytes(token: string, spelling: VocabularySpelling): Uint8Array {
  switch (spelling.kind) {
    case "byte-level":
      // An entry with a character outside the map is taken as literal text, as the
      // Rust ByteLevel decoder does.
      return byteLevelTokenToBytes(token) ?? utf8.encode(token);
    case "metaspace": {
      const fallback = BYTE_FALLBACK.exec(token);
      if (fallback) return new Uint8Array([parseInt(fallback[1]!, 16)]);
      return utf8.encode(token.replaceAll(spelling.spaceMarker, " "));
    }
    case "plain":
      return utf8.encode(spelling.continuingPrefix !== "" && token.startsWith(spelling.continuingPrefix) ? token.slice(spelling.continuingPrefix.length) : token);
  }
}

/**
 * id → bytes for every id below the vocabulary size. Added tokens are matched whole in the
 * input text, so their bytes are their content's UTF-8; ids used by nothing get no bytes.
 */
export function tokenBytesTable(json: TokenizerJson, spelling: VocabularySpelling): Uint8Array[] {
  const size = vocabularySize(json);
  const table = new Array<Uint8Array>(size);
  const modelTokens = modelTokensById(json);
  for (let id = 0; id < size; id++) {
    const token = modelTokens[id];
    table[id] = token === undefined ? new Uint8Array(0) : vocabularyEntryBytes(token, spelling);
  }
  for (const added of json.added_tokens ?? []) table[added.id] = utf8.encode(added.content);
  return table;
}
