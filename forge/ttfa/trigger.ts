/**
 * Trigger detection that does not depend on tokenization (docs/automaton.md#triggers).
 *
 * 1. A byte-level Aho–Corasick automaton over all patterns, completed into a DFA
 *    (delta[state][byte]); output[state] is the longest pattern ending there.
 * 2. A token-level table: for every state and every token, run the token's bytes from
 *    that state. At the first byte where a pattern ends, record it as the token's match
 *    and continue from the root; later matches inside the same token also restart from
 *    the root but are not reported (one trigger per step).
 *
 * At run time a step is then one lookup (one gather on tensors).
 */
import type { TokenVocabulary } from "../lzcp/types.js";
import { TtfaError } from "./errors.js";
import { TableCache } from "./table-cache.js";
import type { ByteAutomaton, TriggerTable } from "./types.js";

const utf8 = new TextEncoder();

/** Anything that can give the bytes of its tokens: a ForgeTokenizer or an LZCP vocabulary. */
export type TokenByteSource =
  | { vocabSize: number; tokenBytes(id: number): Uint8Array }
  | TokenVocabulary;

/**
 * Bounds checked before anything is allocated (issue #15 item 2). The work is linear in
 * what is built: the byte automaton costs 2 × 256 cells per state; the trigger table one
 * cell per (state, token) plus, per cell, the bytes a run from that state takes to meet the
 * run from the root (at most the token's length, usually one or two). Workflows never come
 * near either bound (SZCP_LIMITS.maxPatternTotalBytes keeps the states at 257 or fewer); they
 * stop a direct caller from asking for gigabytes.
 */
export const MAX_AUTOMATON_STATES = 65_536;
/** States × (vocabulary + 1) of one trigger table: 2^27 cells, 1 GiB in its two Int32 arrays. */
export const MAX_TRIGGER_TABLE_CELLS = 2 ** 27;

export function buildByteAutomaton(patterns: string[]): ByteAutomaton {
  const encoded = patterns.map((pattern) => utf8.encode(pattern));
  const totalBytes = encoded.reduce((sum, b) => sum + b.length, 0);
  if (totalBytes + 1 > MAX_AUTOMATON_STATES)
    throw new TtfaError(`the trigger patterns have ${totalBytes} bytes together, so the automaton could need ${totalBytes + 1} states, over MAX_AUTOMATON_STATES = ${MAX_AUTOMATON_STATES}`);
  // Trie with goto[state*256+byte] (-1 = missing while building).
  const gotoRows: Int32Array[] = [new Int32Array(256).fill(-1)];
  const terminal: number[] = [-1];
  const depth: number[] = [0];
  encoded.forEach((bytes, index) => {
    if (bytes.length === 0) throw new TtfaError(`trigger pattern ${index} is empty`);
    let state = 0;
    for (const b of bytes) {
      let nextState = gotoRows[state]![b]!;
      if (nextState < 0) {
        nextState = gotoRows.length;
        gotoRows.push(new Int32Array(256).fill(-1));
        terminal.push(-1);
        depth.push(depth[state]! + 1);
        gotoRows[state]![b] = nextState;
      }
      state = nextState;
    }
    if (terminal[state]! < 0) terminal[state] = index; // duplicates: the first index wins
  });

  const stateCount = gotoRows.length;
  const delta = new Int32Array(stateCount * 256);
  const fail = new Int32Array(stateCount);
  const output = new Int32Array(stateCount).fill(-1);
  // Breadth-first: a state's failure link and output come from shallower states.
  const queue: number[] = [];
  for (let b = 0; b < 256; b++) {
    const child = gotoRows[0]![b]!;
    if (child >= 0) {
      fail[child] = 0;
      delta[b] = child;
      queue.push(child);
    } else delta[b] = 0;
  }
  output[0] = -1;
  for (let head = 0; head < queue.length; head++) {
    const state = queue[head]!;
    // Longest pattern ending here: the state's own pattern, else its failure state's output.
    output[state] = terminal[state]! >= 0 ? terminal[state]! : output[fail[state]!]!;
    for (let b = 0; b < 256; b++) {
      const child = gotoRows[state]![b]!;
      if (child >= 0) {
        fail[child] = delta[fail[state]! * 256 + b]!;
        delta[state * 256 + b] = child;
        queue.push(child);
      } else delta[state * 256 + b] = delta[fail[state]! * 256 + b]!;
    }
  }
  return { stateCount, delta, output, depth: Int32Array.from(depth) };
}

/** Run bytes from a state: the state after them and the first pattern matched (-1 none). */
export function runBytes(automaton: ByteAutomaton, state: number, bytes: ArrayLike<number>): { state: number; match: number } {
  let match = -1;
  for (let i = 0; i < bytes.length; i++) {
    state = automaton.delta[state * 256 + bytes[i]!]!;
    const out = automaton.output[state]!;
    if (out >= 0) {
      if (match < 0) match = out;
      state = 0; // bytes after a match continue from the root
    }
  }
  return { state, match };
}

/** All matches in a byte string, scanning with the same restart-at-root rule (for tests). */
export function scanBytes(automaton: ByteAutomaton, bytes: ArrayLike<number>): Array<{ pattern: number; end: number }> {
  const found: Array<{ pattern: number; end: number }> = [];
  let state = 0;
  for (let i = 0; i < bytes.length; i++) {
    state = automaton.delta[state * 256 + bytes[i]!]!;
    const out = automaton.output[state]!;
    if (out >= 0) {
      found.push({ pattern: out, end: i + 1 });
      state = 0;
    }
  }
  return found;
}

/**
 * Trigger tables, kept per vocabulary (the object, weakly) and pattern list: a table depends
 * on nothing else, so every workflow with the same patterns (the seed's five, say) shares
 * one, and a server can build a new one in slices before the compile asks for it
 * (`buildTriggerTableInSlices`). Bounded (LRU): `TRIGGER_CACHE_ENTRIES` tables and
 * `TRIGGER_CACHE_BYTES` per vocabulary. Tables are never mutated after they are built.
 */
export const TRIGGER_CACHE_ENTRIES = 8;
export const TRIGGER_CACHE_BYTES = 256 * 1024 * 1024;
const tableCache = new TableCache<TriggerTable>(TRIGGER_CACHE_ENTRIES, TRIGGER_CACHE_BYTES, (t) => t.next.byteLength + t.match.byteLength + t.bytes.delta.byteLength);

function cachedTable(tokens: TokenByteSource, key: string): TriggerTable | undefined {
  const hit = tableCache.get(tokens, key);
  return hit && hit.vocabSize === tokens.vocabSize ? hit : undefined;
}


export function buildTriggerTable(patterns: string[], tokens: TokenByteSource): TriggerTable {
  const key = JSON.stringify(patterns);
  const hit = cachedTable(tokens, key);
  if (hit) return hit;
  const builder = tableBuilder(patterns, tokens, Number.MAX_SAFE_INTEGER);
  let step = builder.next();
  while (!step.done) step = builder.next();
  tableCache.set(tokens, key, step.value);
  return step.value;
}

/**
 * `buildTriggerTable` for a server's event loop: the same table (kept in the same cache),
 * built `sliceTokens` vocabulary entries at a time with `await pause()` between slices.
 */
export async function buildTriggerTableInSlices(patterns: string[], tokens: TokenByteSource, pause: () => Promise<void>, sliceTokens = 4096): Promise<TriggerTable> {
  const key = JSON.stringify(patterns);
  const hit = cachedTable(tokens, key);
  if (hit) return hit;
  const builder = tableBuilder(patterns, tokens, Math.max(1, sliceTokens));
  let step = builder.next();
  while (!step.done) {
    await pause();
    step = builder.next();
  }
  tableCache.set(tokens, key, step.value);
  return step.value;
}

function* tableBuilder(patterns: string[], tokens: TokenByteSource, sliceTokens: number): Generator<void, TriggerTable, void> {
  const automaton = buildByteAutomaton(patterns);
  const vocabSize = tokens.vocabSize;
  const columns = vocabSize + 1;
  const S = automaton.stateCount;
  if (S * columns > MAX_TRIGGER_TABLE_CELLS)
    throw new TtfaError(`the trigger table would have ${S} states × ${columns} columns = ${S * columns} cells, over MAX_TRIGGER_TABLE_CELLS = ${MAX_TRIGGER_TABLE_CELLS}; use shorter trigger patterns`);
  // Not filled up front: every cell is written below, so the pages of these arrays (up to
  // hundreds of MB on a large vocabulary) are first touched slice by slice, not all at once.
  const next = new Int32Array(S * columns);
  const match = new Int32Array(S * columns);
  const { delta, output } = automaton;
  const bytesOf = byteAccessor(tokens);
  // Run each token once from the root, remembering the state before every byte and the first
  // match from each byte on. A run from another state usually meets the root run within a
  // byte or two; from there on both are identical, so the rest is read off the root run.
  let rootState = new Int32Array(64);
  let firstFrom = new Int32Array(64);
  for (let v = 0; v < vocabSize; v++) {
    if (v > 0 && v % sliceTokens === 0) yield;
    const bytes = bytesOf(v);
    const n = bytes.length;
    if (rootState.length <= n) {
      rootState = new Int32Array(2 * n + 1);
      firstFrom = new Int32Array(2 * n + 1);
    }
    let state = 0;
    for (let i = 0; i < n; i++) {
      rootState[i] = state;
      state = delta[state * 256 + bytes[i]!]!;
      firstFrom[i] = output[state]!; // the match at byte i, turned into "first match from i" below
      if (firstFrom[i]! >= 0) state = 0;
    }
    rootState[n] = state;
    firstFrom[n] = -1;
    for (let i = n - 1; i >= 0; i--) if (firstFrom[i]! < 0) firstFrom[i] = firstFrom[i + 1]!;
    for (let s = 0; s < S; s++) {
      let st = s;
      let first = -1;
      let i = 0;
      for (; i < n && st !== rootState[i]; i++) {
        st = delta[st * 256 + bytes[i]!]!;
        const out = output[st]!;
        if (out >= 0) {
          if (first < 0) first = out;
          st = 0;
        }
      }
      if (i < n || st === rootState[n]) {
        // Met the root run at byte i: same states and matches from here on.
        next[s * columns + v] = rootState[n]!;
        match[s * columns + v] = first >= 0 ? first : firstFrom[i]!;
      } else {
        next[s * columns + v] = st;
        match[s * columns + v] = first;
      }
    }
  }
  // The extra column: a token with no bytes leaves the state as it is, and matches nothing.
  for (let s = 0; s < S; s++) {
    next[s * columns + vocabSize] = s;
    match[s * columns + vocabSize] = -1;
  }
  return { patterns: [...patterns], stateCount: S, vocabSize, columns, next, match, bytes: automaton };
}

/** The table column of a token id: ids outside [0, vocabSize) have no bytes (column vocabSize; negatives clip to 0). */
export function triggerColumn(table: TriggerTable, token: number): number {
  return token < 0 ? 0 : token > table.vocabSize ? table.vocabSize : token;
}

function byteAccessor(tokens: TokenByteSource): (id: number) => Uint8Array {
  if ("offsets" in tokens) return (id) => tokens.bytes.subarray(tokens.offsets[id]!, tokens.offsets[id + 1]!);
  return (id) => tokens.tokenBytes(id);
}
