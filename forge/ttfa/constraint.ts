/**
 * Constrained zones at the token level (docs/automaton.md#constrained-zones).
 *
 * A constrained zone's generated text must be one of its `choices`, or match its `regex`,
 * and then end with the zone's end pattern: its advance pattern, or — at a jump site — the
 * control pattern. So the language of the zone is `C · (advance | control)`, compiled here:
 *
 * 1. byte level: the Thompson NFA of that language (forge/szcp/regex.ts) determinized by
 *    subset construction (at most MAX_CONSTRAINT_DFA_STATES states per constraint), states
 *    from which no accepting state is reachable dropped;
 * 2. token level: for every DFA state reachable from the start through whole tokens, every
 *    token whose bytes keep the DFA alive is allowed, and leads to the state after its last
 *    byte. A token that completes the end pattern must end with it; it leads to the free
 *    state 0 (the zone is over). Tokens with no bytes are never allowed in a constrained
 *    state (they would make no progress). The walk reads the vocabulary as a byte trie, so a
 *    dead prefix prunes every token that starts with it;
 * 3. states from which no token path reaches the end are dropped (a constraint no token
 *    sequence can satisfy under this tokenizer is a ConstraintError naming the zone).
 *
 * All constraints of a program share one table `next[state * columns + column]` (−1: not
 * allowed), row 0 being the free state (every token allowed, stays 0), bounded by
 * MAX_CONSTRAINT_TABLE_CELLS. A zone's `constraintStart` is its start state (0 when free).
 */
import { compileWithEnds, RegexError, REGEX_LIMITS, subsetConstructionSteps, type ByteNfa } from "../szcp/regex.js";
import type { TokenVocabulary } from "../lzcp/types.js";
import type { ZoneConstraint } from "../szcp/types.js";
import { TtfaError } from "./errors.js";
import { TableCache } from "./table-cache.js";

/** DFA states of one constraint (subset construction). */
export const MAX_CONSTRAINT_DFA_STATES = 4_096;
/**
 * Subset-construction work of all of a program's constraints together (each one is also
 * bounded by REGEX_LIMITS.maxSubsetWork alone): without it, 20 distinct constraints of
 * ~3.5 M steps each took 3.4 s to compile (now ~1 s at most in all), and a workflow may have
 * thousands of zones.
 */
export const MAX_PROGRAM_SUBSET_WORK = REGEX_LIMITS.maxSubsetWork;
/** Cells of the shared token table (states × (vocabulary + 1)), as the trigger table is bounded. */
export const MAX_CONSTRAINT_TABLE_CELLS = 2 ** 25;

/** A constraint that cannot be compiled for this tokenizer; `where` names the zone. */
export class ConstraintError extends TtfaError {
  override readonly code: string = "constraint_invalid";
  constructor(
    message: string,
    readonly where: string,
  ) {
    super(`${where}: ${message}`);
  }
}

export interface ConstraintInfo {
  constraint: ZoneConstraint;
  /** End patterns accepted after the constrained text (advance; control at a jump site). */
  ends: string[];
  /** Global id of its start state. */
  start: number;
  /** Token-level states it owns (global ids start .. start + states). */
  states: number;
}

export interface ConstraintTable {
  /** S: rows, state 0 (free) included. */
  stateCount: number;
  /** vocabSize + 1 (the last column: a token with no bytes, never allowed when constrained). */
  columns: number;
  /** S × columns: next state, or −1 when the token is not allowed; row 0 is all 0. */
  next: Int32Array;
  /** Distinct (constraint, ends) pairs, in order of first use. */
  constraints: ConstraintInfo[];
}

/** The table for a program without constraints: the free row only. */
export function freeConstraintTable(vocabSize: number): ConstraintTable {
  return { stateCount: 1, columns: vocabSize + 1, next: new Int32Array(vocabSize + 1), constraints: [] };
}

interface ByteDfa {
  count: number;
  /** count × 256, −1 dead. */
  delta: Int32Array;
  accept: Uint8Array;
  /** 1 when an accepting state is reachable. */
  live: Uint8Array;
  /** Subset-construction work it took. */
  work: number;
}

/**
 * Subset construction, bounded in states (MAX_CONSTRAINT_DFA_STATES) and in work
 * (REGEX_LIMITS.maxSubsetWork; `programWorkLeft`: what MAX_PROGRAM_SUBSET_WORK leaves after the
 * program's other constraints).
 */
export function determinize(nfa: ByteNfa, where = "constraint", programWorkLeft = MAX_PROGRAM_SUBSET_WORK): ByteDfa {
  const steps = determinizeSteps(nfa, where, programWorkLeft);
  let step: IteratorResult<void, ByteDfa>;
  do step = steps.next();
  while (!step.done);
  return step.value;
}

/** `determinize` yielding between slices of its subset construction (subsetConstructionSteps), for a sliced build. */
function* determinizeSteps(nfa: ByteNfa, where: string, programWorkLeft: number): Generator<void, ByteDfa, void> {
  const programBound = programWorkLeft < REGEX_LIMITS.maxSubsetWork;
  const dfa = yield* subsetConstructionSteps(nfa, MAX_CONSTRAINT_DFA_STATES, Math.min(REGEX_LIMITS.maxSubsetWork, programWorkLeft));
  if ("over" in dfa)
    throw new ConstraintError(
      dfa.over === "states"
        ? `the constraint's automaton needs more than MAX_CONSTRAINT_DFA_STATES = ${MAX_CONSTRAINT_DFA_STATES} states; simplify the regex`
        : programBound
          ? `building the automata of the workflow's constraints together takes more than MAX_PROGRAM_SUBSET_WORK = ${MAX_PROGRAM_SUBSET_WORK} steps, passed at this one; use fewer distinct or simpler constraints`
          : `building the constraint's automaton takes more than REGEX_LIMITS.maxSubsetWork = ${REGEX_LIMITS.maxSubsetWork} steps (nested or overlapping repetitions such as (a{0,100}){10}); simplify the regex`,
      where,
    );
  const { count, delta, accept, work } = dfa;
  // Liveness: reverse reachability from the accepting states.
  const reverse: number[][] = Array.from({ length: count }, () => []);
  for (let d = 0; d < count; d++) for (let b = 0; b < 256; b++) { const t = delta[d * 256 + b]!; if (t >= 0) reverse[t]!.push(d); }
  const live = new Uint8Array(count);
  const stack: number[] = [];
  for (let d = 0; d < count; d++) if (accept[d]) { live[d] = 1; stack.push(d); }
  while (stack.length) for (const p of reverse[stack.pop()!]!) if (!live[p]) { live[p] = 1; stack.push(p); }
  return { count, delta, accept, live, work };
}

/** The vocabulary as a byte trie (first child / next sibling), tokens hung on the node their bytes end at. */
interface VocabTrie {
  byte: Uint8Array;
  firstChild: Int32Array;
  nextSibling: Int32Array;
  /** First token ending at the node, −1 none; more in tokenNext. */
  firstToken: Int32Array;
  tokenNext: Int32Array;
}

const tries = new WeakMap<TokenVocabulary, VocabTrie>();

/** Tokens sorted, or inserted into the trie, between two pauses of a sliced build (a few ms under GPT-2). */
const TOKENS_PER_SLICE = 4096;

/** The vocabulary trie, sliced: its sort (~0.1 s under GPT-2) as sorted runs merged in slices, then the insertion. */
function* vocabTrieSteps(v: TokenVocabulary): Generator<void, VocabTrie, void> {
  const cached = tries.get(v);
  if (cached) return cached;
  const V = v.vocabSize;
  const bytesOf = (t: number) => v.bytes.subarray(v.offsets[t]!, v.offsets[t + 1]!);
  // A total order (ties broken by id), so any correct sort gives the same order as one Array.sort.
  const order = yield* sortInSlices(V, (a, b) => {
    const x = bytesOf(a), y = bytesOf(b);
    const n = Math.min(x.length, y.length);
    for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
    return x.length - y.length || a - b;
  });
  const cap = v.bytes.length + 1;
  const byte = new Uint8Array(cap), firstChild = new Int32Array(cap).fill(-1), nextSibling = new Int32Array(cap).fill(-1);
  const lastChild = new Int32Array(cap).fill(-1);
  const firstToken = new Int32Array(cap).fill(-1), lastToken = new Int32Array(cap).fill(-1), tokenNext = new Int32Array(V).fill(-1);
  let nodes = 1;
  const path = [0]; // path[d] = node at depth d for the previous token
  let prev: Uint8Array = new Uint8Array(0);
  for (let o = 0; o < V; o++) {
    if (o > 0 && o % TOKENS_PER_SLICE === 0) yield;
    const t = order[o]!;
    const bytes = bytesOf(t);
    let lcp = 0;
    while (lcp < bytes.length && lcp < prev.length && bytes[lcp] === prev[lcp]) lcp++;
    path.length = lcp + 1;
    for (let i = lcp; i < bytes.length; i++) {
      const parent = path[i]!;
      const node = nodes++;
      byte[node] = bytes[i]!;
      if (lastChild[parent]! < 0) firstChild[parent] = node;
      else nextSibling[lastChild[parent]!] = node;
      lastChild[parent] = node;
      path.push(node);
    }
    const end = path[bytes.length]!;
    if (firstToken[end]! < 0) firstToken[end] = t;
    else tokenNext[lastToken[end]!] = t;
    lastToken[end] = t;
    prev = bytes;
  }
  const trie = { byte: byte.slice(0, nodes), firstChild: firstChild.slice(0, nodes), nextSibling: nextSibling.slice(0, nodes), firstToken: firstToken.slice(0, nodes), tokenNext };
  tries.set(v, trie);
  return trie;
}

/** 0 … n−1 sorted by `compare`: runs of TOKENS_PER_SLICE by Array.sort, then bottom-up merges, yielding between slices. */
function* sortInSlices(n: number, compare: (a: number, b: number) => number): Generator<void, Int32Array, void> {
  let from = new Int32Array(n);
  for (let lo = 0; lo < n; lo += TOKENS_PER_SLICE) {
    const run = Array.from({ length: Math.min(TOKENS_PER_SLICE, n - lo) }, (_, i) => lo + i).sort(compare);
    from.set(run, lo);
    yield;
  }
  let to = new Int32Array(n);
  let merged = 0;
  for (let width = TOKENS_PER_SLICE; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n), hi = Math.min(lo + 2 * width, n);
      let i = lo, j = mid, k = lo;
      while (i < mid && j < hi) {
        to[k++] = compare(from[j]!, from[i]!) < 0 ? from[j++]! : from[i++]!;
        if (++merged % TOKENS_PER_SLICE === 0) yield;
      }
      while (i < mid) to[k++] = from[i++]!;
      while (j < hi) to[k++] = from[j++]!;
    }
    [from, to] = [to, from];
  }
  return from;
}

/** Marks the token-level edge into "the zone is over". */
const FINAL = -2;

/**
 * One constraint's token-level automaton, before global numbering: the DFA states reachable
 * through whole tokens in breadth-first order, and for each a row over the vocabulary (the
 * position of the next state in that order, FINAL, or −1), then the states from which some
 * token path reaches FINAL. Stops with a ConstraintError once more than `maxStates` states
 * are reachable (what is left of MAX_CONSTRAINT_TABLE_CELLS): each state costs a walk of the
 * vocabulary trie and a row, so without it `(\w+\s?){1,50}` (3 777 DFA states) under GPT-2
 * filled a 2 GB heap in 31 s before the table bound was checked.
 */
function* tokenLevel(dfa: ByteDfa, trie: VocabTrie, vocabSize: number, maxStates: number, where: string): Generator<void, { rows: Int32Array[]; live: Uint8Array }, void> {
  const position = new Int32Array(dfa.count).fill(-1);
  const order: number[] = [];
  const reach = (d: number): number => {
    if (position[d]! < 0) {
      if (order.length >= maxStates)
        throw new ConstraintError(
          `the constraint tables would need more than ${maxStates} states of ${vocabSize + 1} columns for this constraint, over MAX_CONSTRAINT_TABLE_CELLS = ${MAX_CONSTRAINT_TABLE_CELLS}; use fewer or simpler constraints`,
          where,
        );
      position[d] = order.length;
      order.push(d);
    }
    return position[d]!;
  };
  reach(0);
  const rows: Int32Array[] = [];
  const nodeStack: number[] = [];
  const stateStack: number[] = [];
  for (let k = 0; k < order.length; k++) {
    if (k > 0 && k % STATES_PER_SLICE === 0) yield; // a slice for a server's loop (buildConstraintTableInSlices)
    const row = new Int32Array(vocabSize).fill(-1);
    rows.push(row);
    for (let c = trie.firstChild[0]!; c >= 0; c = trie.nextSibling[c]!) {
      nodeStack.push(c);
      stateStack.push(order[k]!);
    }
    while (nodeStack.length) {
      const node = nodeStack.pop()!;
      const d = dfa.delta[stateStack.pop()! * 256 + trie.byte[node]!]!;
      if (d < 0 || !dfa.live[d]) continue;
      if (trie.firstToken[node]! >= 0) {
        // A state becomes reachable when a whole token leads to it (not a byte inside one).
        const target = dfa.accept[d] ? FINAL : reach(d);
        for (let t = trie.firstToken[node]!; t >= 0; t = trie.tokenNext[t]!) row[t] = target;
      }
      if (dfa.accept[d]) continue; // the end pattern is complete: a token may not run past it
      for (let c = trie.firstChild[node]!; c >= 0; c = trie.nextSibling[c]!) {
        nodeStack.push(c);
        stateStack.push(d);
      }
    }
  }
  // Token-level liveness: a state is kept when some token path from it reaches FINAL
  // (reverse reachability over the distinct successors of each state).
  const S = order.length;
  const predecessors: number[][] = Array.from({ length: S }, () => []);
  const live = new Uint8Array(S);
  const stack: number[] = [];
  const seen = new Int32Array(S).fill(-1);
  for (let k = 0; k < S; k++) {
    if (k > 0 && k % (4 * STATES_PER_SLICE) === 0) yield;
    const row = rows[k]!;
    for (let t = 0; t < vocabSize; t++) {
      const to = row[t]!;
      if (to === FINAL) {
        if (!live[k]) { live[k] = 1; stack.push(k); }
      } else if (to >= 0 && seen[to] !== k) {
        seen[to] = k;
        predecessors[to]!.push(k);
      }
    }
  }
  while (stack.length) for (const p of predecessors[stack.pop()!]!) if (!live[p]) { live[p] = 1; stack.push(p); }
  if (!live[0])
    throw new ConstraintError("no token sequence of this tokenizer spells a text the constraint allows followed by the zone's end pattern", where);
  return { rows, live };
}

/** A zone's constraint request: its spec, end patterns, and a name for errors. */
export interface ConstraintRequest {
  constraint: ZoneConstraint | null;
  ends: string[];
  where: string;
}

/**
 * Each zone's request as assembly makes it (forge/ttfa/assemble.ts), and a server before the
 * compile (forge/transport/http/request.ts), which must agree or its sliced build only misses
 * the cache: a constrained zone ends with its advance pattern, at a jump site also with the
 * control pattern. `advanceOf(z)`: zone z's advance pattern.
 */
export function constraintRequests(
  zones: readonly { constraint?: ZoneConstraint | null; jump: unknown; sequence: string; block: number; zone: number }[],
  advanceOf: (z: number) => string,
  control: string,
): ConstraintRequest[] {
  return zones.map((zone, z) => ({
    constraint: zone.constraint ?? null,
    ends: zone.jump === null ? [advanceOf(z)] : [advanceOf(z), control],
    where: `zones[${z}] (${zone.sequence} block ${zone.block} zone ${zone.zone})`,
  }));
}

/**
 * Compile every zone's constraint into one shared table; returns the table and each zone's
 * start state (0 when free) and constraint index (−1 when free). Identical (constraint,
 * ends) pairs are compiled once.
 */
export function buildConstraintTable(zones: ConstraintRequest[], vocabulary: TokenVocabulary): BuiltConstraints {
  const build = startBuild(zones, vocabulary);
  if ("ready" in build) return build.ready;
  let step: IteratorResult<void, BuiltConstraints>;
  try {
    do step = build.builder.next();
    while (!step.done);
  } catch (error) {
    return build.failed(error);
  }
  return build.done(step.value);
}

/**
 * `buildConstraintTable` for a server's event loop: the same result (kept for the compile
 * that follows, as the trigger table is), built with `await pause()` between slices of
 * STATES_PER_SLICE token-level states. A ConstraintError is kept too, and thrown by the
 * compile's own call. The byte automata (subset construction, SUBSET_WORK_PER_SLICE steps a
 * slice) and the vocabulary trie (TOKENS_PER_SLICE tokens a slice) are sliced too.
 */
export async function buildConstraintTableInSlices(zones: ConstraintRequest[], vocabulary: TokenVocabulary, pause: () => Promise<void>): Promise<BuiltConstraints> {
  const build = startBuild(zones, vocabulary);
  if ("ready" in build) return build.ready;
  let step: IteratorResult<void, BuiltConstraints>;
  try {
    while (!(step = build.builder.next()).done) await pause();
  } catch (error) {
    return build.failed(error);
  }
  return build.done(step.value);
}

/**
 * What both builds start from: the free or kept result when there is one, else the table's
 * builder with how to keep its outcome (the table, or its ConstraintError, for the next call).
 */
function startBuild(
  zones: ConstraintRequest[],
  vocabulary: TokenVocabulary,
): { ready: BuiltConstraints } | { builder: ReturnType<typeof tableBuilder>; done(built: BuiltConstraints): BuiltConstraints; failed(error: unknown): never } {
  if (zones.every((z) => z.constraint === null)) return { ready: freeConstraints(zones.length, vocabulary) };
  const key = cacheKey(zones);
  const hit = tableCache.get(vocabulary, key);
  if (hit) return { ready: unpack(hit) };
  return {
    builder: tableBuilder(zones, vocabulary),
    done(built) {
      tableCache.set(vocabulary, key, { built });
      return built;
    },
    failed(error) {
      if (error instanceof ConstraintError) tableCache.set(vocabulary, key, { error });
      throw error;
    },
  };
}

export interface BuiltConstraints {
  table: ConstraintTable;
  start: Int32Array;
  index: Int32Array;
}

/** Token-level states walked between two pauses of a sliced build (a few ms each under GPT-2). */
const STATES_PER_SLICE = 16;

/**
 * Built tables (or the ConstraintError of a list that does not build), per vocabulary
 * (weakly) and constraint list (constraints, ends and zone names: a kept error names the
 * zones). Few and bounded in bytes: a table may hold up to MAX_CONSTRAINT_TABLE_CELLS cells.
 * Never mutated once built.
 */
const CACHE_ENTRIES = 4;
const CACHE_BYTES = 256 * 1024 * 1024;
type Kept = { built: BuiltConstraints } | { error: ConstraintError };
const tableCache = new TableCache<Kept>(CACHE_ENTRIES, CACHE_BYTES, (kept) => ("built" in kept ? kept.built.table.next.byteLength : 0));

function cacheKey(zones: ConstraintRequest[]): string {
  return JSON.stringify(zones.map((z) => (z.constraint ? [z.constraint, z.ends, z.where] : 0)));
}
function unpack(kept: Kept): BuiltConstraints {
  if ("error" in kept) throw kept.error;
  return kept.built;
}

/** A program without constraints: the free row, every zone free. */
function freeConstraints(zoneCount: number, vocabulary: TokenVocabulary): BuiltConstraints {
  return { table: freeConstraintTable(vocabulary.vocabSize), start: new Int32Array(zoneCount), index: new Int32Array(zoneCount).fill(-1) };
}

function* tableBuilder(zones: ConstraintRequest[], vocabulary: TokenVocabulary): Generator<void, BuiltConstraints, void> {
  const Z = zones.length;
  const start = new Int32Array(Z);
  const index = new Int32Array(Z).fill(-1);
  const columns = vocabulary.vocabSize + 1;
  const byKey = new Map<string, number>();
  const maxStates = Math.floor(MAX_CONSTRAINT_TABLE_CELLS / columns);
  const compiled: Array<{ info: ConstraintInfo; rows: Int32Array[]; live: Uint8Array }> = [];
  let next = 1;
  let work = 0;
  for (let i = 0; i < Z; i++) {
    const z = zones[i]!;
    if (!z.constraint) continue;
    const key = JSON.stringify([z.constraint, z.ends]);
    let c = byKey.get(key);
    if (c === undefined) {
      let nfa: ByteNfa;
      try {
        nfa = compileWithEnds(z.constraint, z.ends);
      } catch (e) {
        if (e instanceof RegexError) throw new ConstraintError(e.message, `${z.where}.constraint`);
        throw e;
      }
      const dfa = yield* determinizeSteps(nfa, `${z.where}.constraint`, MAX_PROGRAM_SUBSET_WORK - work);
      work += dfa.work;
      const level = yield* tokenLevel(dfa, yield* vocabTrieSteps(vocabulary), vocabulary.vocabSize, maxStates - next, `${z.where}.constraint`);
      let states = 0;
      for (const l of level.live) states += l;
      const info: ConstraintInfo = { constraint: z.constraint, ends: [...z.ends], start: next, states };
      next += info.states;
      c = compiled.push({ info, rows: level.rows, live: level.live }) - 1;
      byKey.set(key, c);
    }
    start[i] = compiled[c]!.info.start;
    index[i] = c;
  }
  const stateCount = next;
  // Zeroed (row 0, the free row, stays so); every other row is a kept state's, filled below
  // row by row, so the pages of a large table are first touched slice by slice.
  const table = new Int32Array(stateCount * columns);
  for (const { info, rows, live } of compiled) {
    // Kept states are numbered in breadth-first order from the constraint's start.
    const global = new Int32Array(rows.length).fill(-1);
    let g = info.start;
    for (let k = 0; k < rows.length; k++) if (live[k]) global[k] = g++;
    for (let k = 0; k < rows.length; k++) {
      if (k > 0 && k % (4 * STATES_PER_SLICE) === 0) yield;
      if (!live[k]) continue;
      const row = rows[k]!;
      const base = global[k]! * columns;
      table.fill(-1, base, base + columns);
      for (let t = 0; t < row.length; t++) {
        const to = row[t]!;
        if (to === FINAL) table[base + t] = 0;
        else if (to >= 0 && live[to]) table[base + t] = global[to]!;
      }
    }
  }
  return { table: { stateCount, columns, next: table, constraints: compiled.map((c) => c.info) }, start, index };
}

/** The constraint state after emitting `token` from `state` (a token the state does not allow abandons the constraint: free). */
export function constraintNext(table: ConstraintTable, state: number, token: number): number {
  const column = token < 0 ? 0 : token >= table.columns - 1 ? table.columns - 1 : token; // as triggerColumn
  const n = table.next[state * table.columns + column]!;
  return n < 0 ? 0 : n;
}

/** Tokens `state` allows (ids below vocabSize), ascending. */
export function allowedTokens(table: ConstraintTable, state: number): Int32Array {
  const row = table.next.subarray(state * table.columns, state * table.columns + table.columns - 1);
  let n = 0;
  for (let i = 0; i < row.length; i++) if (row[i]! >= 0) n++;
  const out = new Int32Array(n);
  n = 0;
  for (let i = 0; i < row.length; i++) if (row[i]! >= 0) out[n++] = i;
  return out;
}
