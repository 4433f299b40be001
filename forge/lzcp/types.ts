/**
 * LZCP — the lowered workflow: SZCP with every text replaced by token ids and every tag
 * list by a boolean mask. It is the first backend stage and the only one that talks to
 * the tokenizer: everything tokenizer-dependent (prompt tokens, pattern tokens, the bytes
 * of every vocabulary entry for the trigger automaton) is captured here as plain data, so
 * that assembling the TTFA program (forge/ttfa) is a pure function of an LzcpWorkflow.
 */
import type { SzcpLoop, ZoneConstraint } from "../szcp/types.js";

/** Target meaning "past the last zone" (same value as SZCP's END). */
export const LZCP_END = -1 as const;

/** The bytes of every token of a vocabulary, flattened: token i is bytes[offsets[i]..offsets[i+1]). */
export interface TokenVocabulary {
  readonly vocabSize: number;
  readonly bytes: Uint8Array;
  /** Length vocabSize + 1. */
  readonly offsets: Int32Array;
}

/** Escape patterns as indices into LzcpWorkflow.patterns. */
export type LzcpEscape =
  | { kind: "single"; token: number }
  | { kind: "pair"; open: number; close: number };

export interface LzcpZone {
  /** Tokens forced on entering the zone (the zone's text). */
  promptTokens: Int32Array;
  /** Index into LzcpWorkflow.patterns of the pattern that ends the zone. */
  advance: number;
  /** Nominal successor zone, or LZCP_END. */
  next: number;
  /** Jump target (zone or LZCP_END), or null when the zone is not a jump site. */
  jump: number | null;
  loop: SzcpLoop | null;
  /** One entry per LzcpWorkflow.tagNames: 1 when the zone carries the tag. */
  tagMask: Uint8Array;
  maxGen: number;
  /** Index into toolNames, or -1. */
  capture: number;
  /** Index into toolNames, or -1. */
  feed: number;
  sequence: string;
  block: number;
  zone: number;
  repetition: number;
  /** Choices or a regex the zone's generated text must match (then its end pattern), or null (docs/automaton.md#constrained-zones). */
  constraint: ZoneConstraint | null;
}

export interface LzcpExtraction {
  name: string;
  tags: string[];
  /** One entry per tagNames: 1 when the tag belongs to the extraction. */
  tagMask: Uint8Array;
}

export interface LzcpWorkflow {
  /** Identity of the tokenizer that produced every token id here. */
  tokenizer: string;
  vocabSize: number;
  padId: number;
  /** Distinct trigger patterns: zone tokens, control token, escape tokens (in that order). */
  patterns: string[];
  /** Tokenization of each pattern (used to inject an advance pattern on timeout). */
  patternTokens: Int32Array[];
  /** Index into patterns of the control pattern. */
  control: number;
  escape: LzcpEscape | null;
  zones: LzcpZone[];
  counters: number;
  tagNames: string[];
  toolNames: string[];
  extractions: LzcpExtraction[];
  vocabulary: TokenVocabulary;
}
