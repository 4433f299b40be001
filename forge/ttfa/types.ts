/**
 * The TTFA program (docs/automaton.md#the-program-bytecode): one instruction per zone stored column-wise as typed
 * arrays of length Z, plus the forced tokens, the trigger table and provenance. It is
 * plain data; the reference interpreter and the tensor automaton both execute it.
 *
 * Encodings: zone targets use Z for END ("past the last zone") and -1 for "none".
 */
export const TTFA_FORMAT = "forge.ttfa" as const;
export const TTFA_VERSION = 1 as const;

/** Byte-level Aho–Corasick automaton over all trigger patterns (kept for tests and tools). */
export interface ByteAutomaton {
  stateCount: number;
  /** Full DFA: delta[state * 256 + byte] → state. */
  delta: Int32Array;
  /** Longest pattern ending at the state (own or via dictionary suffix links), or -1. */
  output: Int32Array;
  /** Trie depth of each state (bytes of the longest prefix it stands for). */
  depth: Int32Array;
}

/**
 * Token-level transition table: for a state s and token column c, running the token's
 * bytes from s gives next[s * columns + c] and the first pattern matched, match[...] (-1
 * none). Column `vocabSize` is a token with no bytes (ids outside the vocabulary map there).
 */
export interface TriggerTable {
  patterns: string[];
  stateCount: number;
  vocabSize: number;
  /** vocabSize + 1. */
  columns: number;
  next: Int32Array;
  match: Int32Array;
  bytes: ByteAutomaton;
}

export type { ConstraintTable } from "./constraint.js";
import type { ConstraintTable } from "./constraint.js";

export interface TtfaExtraction {
  name: string;
  tags: string[];
  /** Length T (tagNames). */
  tagMask: Uint8Array;
}

export interface TtfaProgram {
  format: typeof TTFA_FORMAT;
  version: typeof TTFA_VERSION;
  /** Identity of the tokenizer the program was compiled for; a backend with another refuses it. */
  tokenizer: string;
  vocabSize: number;
  padId: number;
  /** Z, the number of zones; END is encoded as Z. */
  zoneCount: number;
  /** Forced prompt tokens of zone z: forcedTokens[feedStart[z]..feedEnd[z]). */
  feedStart: Int32Array;
  feedEnd: Int32Array;
  /** Trigger pattern id that ends the zone. */
  advance: Int32Array;
  /** Tokenized advance pattern (injected on timeout and after tool output): forcedTokens[advanceStart..advanceEnd). */
  advanceStart: Int32Array;
  advanceEnd: Int32Array;
  next: Int32Array;
  /** Jump target (Z = END) or -1 when the zone is not a jump site. */
  jump: Int32Array;
  maxGen: Int32Array;
  /** Z × T bits, row-major: tags[z * T + t]. */
  tags: Uint8Array;
  /** Loop counter index of a loop-head jump site, or -1. */
  counter: Int32Array;
  /** Loop bounds in body iterations, -1 for none. */
  min: Int32Array;
  max: Int32Array;
  /** Tool ids (into toolNames), -1 for none. */
  capture: Int32Array;
  feed: Int32Array;
  /** Provenance: index into sequenceNames, block, zone within block, repetition. */
  sequence: Int32Array;
  block: Int32Array;
  zone: Int32Array;
  repetition: Int32Array;
  sequenceNames: string[];
  forcedTokens: Int32Array;
  counterCount: number;
  /** Pattern ids (into trigger.patterns) of the control and escape patterns, -1 when absent. */
  control: number;
  escapeSingle: number;
  escapeOpen: number;
  escapeClose: number;
  trigger: TriggerTable;
  /**
   * Constrained zones (docs/automaton.md#constrained-zones): a zone's start state in
   * `constraints` (0 = free), and the index of its constraint in `constraints.constraints` (−1 = free).
   */
  constraintStart: Int32Array;
  constraintIndex: Int32Array;
  constraints: ConstraintTable;
  tagNames: string[];
  toolNames: string[];
  extractions: TtfaExtraction[];
}

/**
 * Event bits of one automaton step, shared by the reference interpreter and the tensor
 * automaton. A step can carry several (a timeout whose injected one-token pattern fires at
 * once: TIMEOUT | ADVANCE, and CAPTURE when the zone left was a capture zone).
 */
export const TtfaEvent = {
  NONE: 0,
  /** The zone reached maxGen: its advance pattern is being injected. */
  TIMEOUT: 1,
  /** A feed zone started consuming the stream's tool output. */
  TOOL_RESULT: 2,
  ADVANCE: 4,
  JUMP: 8,
  IGNORED_JUMP: 16,
  FORCED_EXIT: 32,
  /** A capture zone was left: the host decodes its tokens and calls the tool. */
  CAPTURE: 64,
  /** Waiting for tool output: padding emitted, nothing changed, not recorded. */
  HELD: 128,
  /** The stream was already done: padding emitted, not recorded. */
  PAD: 256,
} as const;
export type TtfaEventBits = number;

/** One step of one stream (the reference interpreter's output; the tensor step gives the same fields per slot). */
export interface StepRecord {
  /** Emitted token: forced, generated, or padding. */
  token: number;
  /** Zone the token was emitted in, before any move it caused (Z once done). */
  pc: number;
  /** 1 when the automaton forced the token. */
  forced: number;
  /** TtfaEvent bits. */
  event: TtfaEventBits;
  /** Zone after the step (Z = END). */
  nextPc: number;
  /** 1 when the stream is done after this step. */
  done: number;
  /** 1 when the step belongs to the trace (neither held nor padding). */
  record: number;
}
