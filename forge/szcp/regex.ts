/**
 * Constrained zones (docs/language.md#constrained-zones). It lives in SZCP, the stage both
 * sides share: UDPL checks a regex with it (file:line), the SZCP schema checks untrusted ones,
 * and the TTFA compiles them.
 *
 * This file: a small regular-expression compiler to a byte-level NFA, and the NFA of a
 * `choices` list. Byte level, so a
 * constraint holds however a tokenizer splits the text (the TTFA walks each token's bytes
 * through the determinized automaton, forge/ttfa/constraint.ts).
 *
 * Why our own: none of the installed packages compiles a regex to a byte automaton, and the
 * grammar libraries that do (XGrammar's wasm build, llguidance, outlines-core) are not
 * installed and may not be added (no new npm packages). The subset is what SGLang's `regex`
 * and Guidance's `gen(regex=…)` are used for in practice:
 *
 * - literals (any Unicode, matched as its UTF-8 bytes), `.` (any character but `\n`);
 * - classes `[abc]`, `[a-z0-9_]`, `[^…]` (negated: any character not listed), escapes
 *   `\d \w \s \D \W \S`, `\n \t \r \f \v \0`, `\xHH`, `\uHHHH`, and `\` before punctuation;
 * - grouping `( … )` and `(?: … )`, alternation `|`;
 * - repetition `* + ?` and `{n}`, `{n,}`, `{n,m}` (n, m ≤ REGEX_LIMITS.maxRepeat);
 * - `^` at the very start and `$` at the very end are accepted and mean nothing more: the
 *   match is always anchored on the whole generated answer.
 *
 * Refused with a `RegexError` naming the offset: backreferences, lookaround, lazy or
 * possessive quantifiers, anchors elsewhere, `\b`, named groups, flags, and any regex whose
 * NFA would pass REGEX_LIMITS.maxNfaStates. Classes with non-ASCII members are allowed
 * (each member becomes its byte sequence); a negated class may list ASCII characters only.
 */
import { ForgeError } from "../errors.js";
import { SZCP_LIMITS } from "./limits.js";

export const REGEX_LIMITS = {
  /** UTF-16 code units of a regex (SZCP_LIMITS.maxRegexLength). */
  maxPatternLength: SZCP_LIMITS.maxRegexLength,
  /** n and m of `{n,m}`. */
  maxRepeat: 1_000,
  /** States of the Thompson NFA (a `{n,m}` copies its operand m times). */
  maxNfaStates: 65_536,
  /** Entries of a `choices` list (SZCP_LIMITS.maxChoices). */
  maxChoices: SZCP_LIMITS.maxChoices,
  /** UTF-8 bytes of one choice (SZCP_LIMITS.maxChoiceBytes). */
  maxChoiceBytes: SZCP_LIMITS.maxChoiceBytes,
  /** Nesting of groups (the parser recurses). */
  maxDepth: 64,
  /**
   * Work of one subset construction (`subsetConstruction`): NFA states summed over the DFA
   * states' sets, each counted once plus once per byte it reads, closures included. The DFA
   * state bound alone does not bound the time: `(.{0,100}){10}` (14 characters) built 4 096
   * states of thousands of NFA states each for 19 s before it was refused, and
   * `([a-z]{0,100}){40}` as a json_schema `pattern` was accepted after 12 s. A unit costs
   * ~50 ns: this bound stops any construction within about a second (0.5–0.9 s measured on
   * a loaded machine), and still admits `(\w+\s?){1,50}` (3 782 states, 10.8 M units); the
   * constraints the tests and benches compile need under 0.1 M.
   */
  maxSubsetWork: 2 ** 24,
} as const;

/** A regex that does not compile; `offset` is the UTF-16 index in the pattern where it fails. */
export class RegexError extends ForgeError {
  readonly code: string = "regex_invalid";
  override readonly name = "RegexError";
  constructor(
    readonly reason: string,
    readonly offset: number,
  ) {
    super(`${reason} (at offset ${offset})`);
  }
}

/**
 * A Thompson NFA over bytes. State i has epsilon edges `eps[i]`, and, when `set[i]` is not
 * null, one byte edge to `to[i]` taken on every byte b with `set[i][b] === 1`.
 */
export interface ByteNfa {
  eps: number[][];
  set: Array<Uint8Array | null>;
  to: number[];
  start: number;
  accept: number;
}

/**
 * The epsilon closure over `nfa`, as a function of seed states: the sorted states reachable
 * from the seeds by epsilon edges (a subset-construction state). One stamp array is reused
 * across calls, so a closure costs what it visits.
 */
export function epsilonClosure(nfa: ByteNfa): (seeds: number[]) => number[] {
  const mark = new Int32Array(nfa.eps.length).fill(-1);
  let stamp = 0;
  return (seeds) => {
    stamp++;
    const out: number[] = [];
    const stack = [...seeds];
    while (stack.length) {
      const s = stack.pop()!;
      if (mark[s] === stamp) continue;
      mark[s] = stamp;
      out.push(s);
      for (const t of nfa.eps[s]!) if (mark[t] !== stamp) stack.push(t);
    }
    return out.sort((a, b) => a - b);
  };
}

/** A DFA over bytes from `subsetConstruction`: `delta[state * 256 + byte]` (−1: dead); state 0 is the start. */
export interface SubsetDfa {
  count: number;
  delta: Int32Array;
  accept: Uint8Array;
  /** The work it took, in REGEX_LIMITS.maxSubsetWork's units. */
  work: number;
}

/** Why a subset construction stopped: more than `maxStates` states, or more than `maxWork` work (REGEX_LIMITS.maxSubsetWork). */
export type SubsetOverflow = { over: "states" | "work"; work: number };

/**
 * The subset construction of `nfa`, bounded in states and in work (see
 * REGEX_LIMITS.maxSubsetWork); each caller turns an overflow into its own error (the TTFA's
 * ConstraintError, json_schema's JsonSchemaError). A step costs what its set holds: each
 * byte state's bytes are a list (most are one literal byte), and bytes with the same targets
 * share one closure.
 */
export function subsetConstruction(nfa: ByteNfa, maxStates: number, maxWork: number = REGEX_LIMITS.maxSubsetWork): SubsetDfa | SubsetOverflow {
  const steps = subsetConstructionSteps(nfa, maxStates, maxWork);
  let step: IteratorResult<void, SubsetDfa | SubsetOverflow>;
  do step = steps.next();
  while (!step.done);
  return step.value;
}

/** Work between two pauses of `subsetConstructionSteps` (a few ms). */
export const SUBSET_WORK_PER_SLICE = 1 << 16;

/**
 * `subsetConstruction` as a generator that yields about every SUBSET_WORK_PER_SLICE units of
 * work, so a server can build a constraint's automaton between turns of its event loop (the
 * work bound allows about a second in one piece). Same states, same numbering.
 */
export function* subsetConstructionSteps(nfa: ByteNfa, maxStates: number, maxWork: number = REGEX_LIMITS.maxSubsetWork): Generator<void, SubsetDfa | SubsetOverflow, void> {
  const closure = epsilonClosure(nfa);
  const lists = nfa.set.map((bytes) => {
    if (!bytes) return null;
    const list: number[] = [];
    for (let b = 0; b < 256; b++) if (bytes[b]) list.push(b);
    return list;
  });
  const sets: number[][] = [];
  const ids = new Map<string, number>();
  const rows: Int32Array[] = [];
  let work = 0;
  /** The id of `set`, a new state when unseen; −1 when that would pass maxStates. */
  const add = (set: number[]): number => {
    const key = set.join(",");
    work += set.length;
    let id = ids.get(key);
    if (id === undefined) {
      if (sets.length >= maxStates) return -1;
      id = sets.length;
      sets.push(set);
      ids.set(key, id);
    }
    return id;
  };
  add(closure([nfa.start]));
  const targets: number[][] = Array.from({ length: 256 }, () => []);
  const touched: number[] = [];
  let pauseAt = SUBSET_WORK_PER_SLICE;
  for (let d = 0; d < sets.length; d++) {
    if (work > maxWork) return { over: "work", work };
    if (work >= pauseAt) {
      pauseAt = work + SUBSET_WORK_PER_SLICE;
      yield;
    }
    for (const b of touched) targets[b]!.length = 0;
    touched.length = 0;
    for (const s of sets[d]!) {
      const bytes = lists[s];
      work++;
      if (!bytes) continue;
      work += bytes.length;
      const to = nfa.to[s]!;
      for (const b of bytes) {
        if (targets[b]!.length === 0) touched.push(b);
        targets[b]!.push(to);
      }
    }
    const row = new Int32Array(256).fill(-1);
    const memo = new Map<string, number>();
    for (const b of touched) {
      const seeds = targets[b]!;
      const key = seeds.join(",");
      let id = memo.get(key);
      if (id === undefined) {
        const set = closure(seeds);
        work += seeds.length + set.length;
        id = add(set);
        if (id < 0) return { over: "states", work };
        memo.set(key, id);
      }
      row[b] = id;
    }
    rows.push(row);
  }
  if (work > maxWork) return { over: "work", work };
  const count = sets.length;
  const delta = new Int32Array(count * 256);
  rows.forEach((row, d) => delta.set(row, d * 256));
  const accept = new Uint8Array(count);
  sets.forEach((set, d) => (accept[d] = set.includes(nfa.accept) ? 1 : 0));
  return { count, delta, accept, work };
}

export type RegexNode =
  | { kind: "seq"; items: RegexNode[] }
  | { kind: "alt"; options: RegexNode[] }
  | { kind: "repeat"; item: RegexNode; min: number; max: number } // max -1: unbounded
  | { kind: "bytes"; sets: Uint8Array[] } // one byte set per position
  | { kind: "class"; ascii: Uint8Array; multibyte: Uint8Array[][]; anyNonAscii: boolean };

const utf8 = new TextEncoder();

/**
 * What checking one workflow's constraints may cost in all (SZCP_LIMITS.maxConstraintNfaStates,
 * maxConstraintSubsetWork), spent by `compileRegex` and json_schema's derivation as they build;
 * the SZCP schema checks each distinct constraint once (`checked`).
 */
export class ConstraintBudget {
  nfaStates: number = SZCP_LIMITS.maxConstraintNfaStates;
  subsetWork: number = SZCP_LIMITS.maxConstraintSubsetWork;
  /** Constraints checked so far (their JSON), with the issue each raised, or null. */
  readonly checked = new Map<string, { message: string; path: Array<string | number> } | null>();
}

/**
 * Parse `pattern` and build its NFA; throws RegexError. `maxLength`: a larger bound for
 * derived regexes (json_schema zones, forge/szcp/json-schema.ts). With a `budget`, the
 * states built are taken from it, and running out is a RegexError naming
 * SZCP_LIMITS.maxConstraintNfaStates.
 */
export function compileRegex(pattern: string, maxLength: number = REGEX_LIMITS.maxPatternLength, budget?: ConstraintBudget): ByteNfa {
  if (typeof pattern !== "string") throw new RegexError("a regex must be a string", 0);
  if (pattern.length > maxLength)
    throw new RegexError(`the regex has ${pattern.length} characters, over ${maxLength === REGEX_LIMITS.maxPatternLength ? "REGEX_LIMITS.maxPatternLength" : "the limit"} = ${maxLength}`, 0);
  const ast = new Parser(pattern).parseAll();
  const b = new NfaBuilder(budget);
  try {
    const [s, e] = b.build(ast, 0);
    return b.finish(s, e);
  } finally {
    if (budget) budget.nfaStates -= b.eps.length; // spent, built to the end or not
  }
}

/** The NFA of "exactly one of these strings". Throws RegexError on an empty list, an empty or duplicate choice. */
export function compileChoices(choices: readonly string[]): ByteNfa {
  checkChoices(choices);
  const b = new NfaBuilder();
  const ast: RegexNode = { kind: "alt", options: choices.map((c) => literalNode(c)) };
  const [s, e] = b.build(ast, 0);
  return b.finish(s, e);
}

/** The problems of a choices list, as UDPL and the SZCP schema report them; throws RegexError with `offset` = the choice's index. */
export function checkChoices(choices: readonly unknown[]): void {
  if (!Array.isArray(choices) || choices.length === 0) throw new RegexError("choices must be a non-empty list of strings", 0);
  if (choices.length > REGEX_LIMITS.maxChoices)
    throw new RegexError(`${choices.length} choices, over REGEX_LIMITS.maxChoices = ${REGEX_LIMITS.maxChoices}`, REGEX_LIMITS.maxChoices);
  const seen = new Set<string>();
  choices.forEach((c, i) => {
    if (typeof c !== "string" || c.length === 0) throw new RegexError(`choice ${i} must be a non-empty string`, i);
    if (utf8.encode(c).length > REGEX_LIMITS.maxChoiceBytes)
      throw new RegexError(`choice ${i} has ${utf8.encode(c).length} UTF-8 bytes, over REGEX_LIMITS.maxChoiceBytes = ${REGEX_LIMITS.maxChoiceBytes}`, i);
    if (seen.has(c)) throw new RegexError(`choice ${i} (${JSON.stringify(c)}) appears twice`, i);
    seen.add(c);
  });
}

/** The NFA of a literal string (the end patterns appended to a constraint). */
export function literalNode(text: string): RegexNode {
  return { kind: "bytes", sets: Array.from(utf8.encode(text), (byte) => single(byte)) };
}

/** `first` followed by one of `ends` (literal strings): the whole zone a constraint admits. */
export function compileWithEnds(constraint: { kind: "regex" | "json_schema"; pattern: string } | { kind: "choices"; choices: readonly string[] }, ends: readonly string[]): ByteNfa {
  // A json_schema zone applies its derived `pattern` exactly as a regex zone does.
  const body = constraint.kind !== "choices" ? new Parser(constraint.pattern).parseAll() : (checkChoices(constraint.choices), { kind: "alt", options: constraint.choices.map(literalNode) } as RegexNode);
  const ast: RegexNode = { kind: "seq", items: [body, { kind: "alt", options: ends.map(literalNode) }] };
  const b = new NfaBuilder();
  const [s, e] = b.build(ast, 0);
  return b.finish(s, e);
}

function single(byte: number): Uint8Array {
  const s = new Uint8Array(256);
  s[byte] = 1;
  return s;
}
function range(lo: number, hi: number): Uint8Array {
  const s = new Uint8Array(256);
  s.fill(1, lo, hi + 1);
  return s;
}

const DIGIT = "0123456789";
const WORD = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
const SPACE = " \t\n\r\f\v";

class Parser {
  private at = 0;
  private depth = 0;
  constructor(private readonly src: string) {}

  parseAll(): RegexNode {
    let end = this.src.length;
    if (this.src.startsWith("^")) this.at = 1;
    if (end > this.at && this.src[end - 1] === "$" && !this.escapedAt(end - 1)) end -= 1;
    const node = this.parseAlt(end);
    if (this.at < end) throw new RegexError(this.src[this.at] === ")" ? "unmatched )" : `unexpected ${JSON.stringify(this.src[this.at])}`, this.at);
    return node;
  }

  /** Whether the character at i is preceded by an odd number of backslashes. */
  private escapedAt(i: number): boolean {
    let n = 0;
    for (let j = i - 1; j >= 0 && this.src[j] === "\\"; j--) n++;
    return n % 2 === 1;
  }

  private parseAlt(end: number): RegexNode {
    const options = [this.parseSeq(end)];
    while (this.at < end && this.src[this.at] === "|") {
      this.at++;
      options.push(this.parseSeq(end));
    }
    return options.length === 1 ? options[0]! : { kind: "alt", options };
  }

  private parseSeq(end: number): RegexNode {
    const items: RegexNode[] = [];
    while (this.at < end && this.src[this.at] !== "|" && this.src[this.at] !== ")") {
      let atom = this.parseAtom(end);
      atom = this.parseQuantifiers(atom, end);
      items.push(atom);
    }
    return { kind: "seq", items };
  }

  private parseQuantifiers(atom: RegexNode, end: number): RegexNode {
    for (;;) {
      const c = this.src[this.at];
      if (this.at >= end) return atom;
      let min: number, max: number;
      const start = this.at;
      if (c === "*") [min, max] = [0, -1];
      else if (c === "+") [min, max] = [1, -1];
      else if (c === "?") [min, max] = [0, 1];
      else if (c === "{" && /^\{\d+(,\d*)?\}/.test(this.src.slice(this.at, end))) {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.at, end))!;
        min = Number(m[1]);
        max = m[2] === undefined ? min : m[3] === "" ? -1 : Number(m[3]);
        if (min > REGEX_LIMITS.maxRepeat || max > REGEX_LIMITS.maxRepeat)
          throw new RegexError(`repetition bound over REGEX_LIMITS.maxRepeat = ${REGEX_LIMITS.maxRepeat}`, start);
        if (max !== -1 && max < min) throw new RegexError(`{${min},${max}}: the maximum is below the minimum`, start);
        this.at += m[0].length - 1;
      } else return atom;
      this.at++;
      if (this.src[this.at] === "?" || this.src[this.at] === "+")
        throw new RegexError("lazy and possessive quantifiers mean nothing for a whole-answer match; remove the extra ? or +", this.at);
      if (this.src[this.at] === "*" || (this.src[this.at] === "{" && /^\{\d/.test(this.src.slice(this.at))))
        throw new RegexError("a quantifier cannot follow a quantifier; group the operand first", this.at);
      atom = { kind: "repeat", item: atom, min, max };
    }
  }

  private parseAtom(end: number): RegexNode {
    const c = this.src[this.at]!;
    const start = this.at;
    if (c === "(") {
      if (++this.depth > REGEX_LIMITS.maxDepth) throw new RegexError(`groups nest deeper than REGEX_LIMITS.maxDepth = ${REGEX_LIMITS.maxDepth}`, start);
      this.at++;
      if (this.src.startsWith("?:", this.at)) this.at += 2;
      else if (this.src[this.at] === "?") throw new RegexError("lookaround, named groups and flags are not supported (only (…) and (?:…))", this.at);
      const inner = this.parseAlt(end);
      if (this.src[this.at] !== ")" || this.at >= end) throw new RegexError("unclosed (", start);
      this.at++;
      this.depth--;
      return inner;
    }
    if (c === "[") return this.parseClass(end);
    if (c === "*" || c === "+" || c === "?") throw new RegexError(`nothing to repeat before ${c}`, start);
    if (c === "{" && /^\{\d+(,\d*)?\}/.test(this.src.slice(this.at, end))) throw new RegexError("nothing to repeat before {", start);
    if (c === "^" || c === "$") throw new RegexError(`${c} is only accepted at the very ${c === "^" ? "start" : "end"} (the match is always the whole answer)`, start);
    if (c === ".") {
      this.at++;
      const ascii = range(0, 0x7f);
      ascii[0x0a] = 0;
      return { kind: "class", ascii, multibyte: [], anyNonAscii: true };
    }
    if (c === "\\") return this.parseEscape(false).node;
    const cp = this.src.codePointAt(this.at)!;
    this.at += cp > 0xffff ? 2 : 1;
    return literalNode(String.fromCodePoint(cp));
  }

  /** An escape outside or inside a class: a class node, or one code point. */
  private parseEscape(inClass: boolean): { node: RegexNode; codePoint: number | null } {
    const start = this.at;
    this.at++;
    const e = this.src[this.at];
    if (e === undefined) throw new RegexError("a trailing backslash escapes nothing", start);
    this.at++;
    const classOf = (chars: string, negate: boolean): RegexNode => {
      const ascii = new Uint8Array(256);
      for (const ch of chars) ascii[ch.charCodeAt(0)] = 1;
      if (negate) for (let b = 0; b < 0x80; b++) ascii[b] = 1 - ascii[b]!;
      return { kind: "class", ascii, multibyte: [], anyNonAscii: negate };
    };
    const point = (cp: number) => ({ node: literalNode(String.fromCodePoint(cp)), codePoint: cp });
    switch (e) {
      case "d": return { node: classOf(DIGIT, false), codePoint: null };
      case "D": return { node: classOf(DIGIT, true), codePoint: null };
      case "w": return { node: classOf(WORD, false), codePoint: null };
      case "W": return { node: classOf(WORD, true), codePoint: null };
      case "s": return { node: classOf(SPACE, false), codePoint: null };
      case "S": return { node: classOf(SPACE, true), codePoint: null };
      case "n": return point(0x0a);
      case "t": return point(0x09);
      case "r": return point(0x0d);
      case "f": return point(0x0c);
      case "v": return point(0x0b);
      case "0": return point(0);
      case "x":
      case "u": {
        const n = e === "x" ? 2 : 4;
        const hex = this.src.slice(this.at, this.at + n);
        if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) throw new RegexError(`\\${e} needs ${n} hex digits`, start);
        this.at += n;
        return point(parseInt(hex, 16));
      }
      default:
        if (/[A-Za-z0-9]/.test(e))
          throw new RegexError(`\\${e} is not supported${e === "b" || e === "B" ? " (word boundaries)" : /[1-9]/.test(e) ? " (backreferences)" : ""}`, start);
        if (inClass || /[\\^$.|?*+()[\]{}\/\-]/.test(e) || e.charCodeAt(0) < 0x80) return point(e.charCodeAt(0));
        throw new RegexError(`\\${e}: only ASCII punctuation may be escaped`, start);
    }
  }

  private parseClass(end: number): RegexNode {
    const start = this.at;
    this.at++;
    let negate = false;
    if (this.src[this.at] === "^") {
      negate = true;
      this.at++;
    }
    const ascii = new Uint8Array(256);
    const multibyte: Uint8Array[][] = [];
    let first = true;
    const member = (): { cp: number | null; node: RegexNode | null } => {
      if (this.src[this.at] === "\\") {
        const e = this.parseEscape(true);
        return { cp: e.codePoint, node: e.codePoint === null ? e.node : null };
      }
      const cp = this.src.codePointAt(this.at)!;
      this.at += cp > 0xffff ? 2 : 1;
      return { cp, node: null };
    };
    const addPoint = (cp: number) => {
      if (cp < 0x80) ascii[cp] = 1;
      else if (negate) throw new RegexError("a negated class may list ASCII characters only", start);
      else multibyte.push(Array.from(utf8.encode(String.fromCodePoint(cp)), single));
    };
    for (;;) {
      if (this.at >= end) throw new RegexError("unclosed [", start);
      if (this.src[this.at] === "]" && !first) break;
      first = false;
      const lo = member();
      if (lo.node) {
        const n = lo.node as Extract<RegexNode, { kind: "class" }>;
        for (let b = 0; b < 256; b++) if (n.ascii[b]) ascii[b] = 1;
        if (n.anyNonAscii) {
          if (negate) throw new RegexError("a negated class cannot hold \\D, \\W or \\S", start);
          return this.finishAnyClass(ascii, end, start);
        }
        continue;
      }
      if (this.src[this.at] === "-" && this.src[this.at + 1] !== "]" && this.at + 1 < end) {
        this.at++;
        const hi = member();
        if (hi.node || hi.cp === null) throw new RegexError("a class range needs a character at each end", start);
        if (hi.cp < lo.cp!) throw new RegexError(`class range out of order`, start);
        if (hi.cp - lo.cp! > 0x7f && hi.cp >= 0x80) throw new RegexError("a non-ASCII class range may span at most 128 characters", start);
        for (let cp = lo.cp!; cp <= hi.cp; cp++) addPoint(cp);
      } else addPoint(lo.cp!);
    }
    this.at++;
    if (negate) {
      for (let b = 0; b < 0x80; b++) ascii[b] = 1 - ascii[b]!;
      return { kind: "class", ascii, multibyte: [], anyNonAscii: true };
    }
    return { kind: "class", ascii, multibyte, anyNonAscii: false };
  }

  /** `[…\D…]` and the like: the class already holds every non-ASCII character; read on to `]`. */
  private finishAnyClass(ascii: Uint8Array, end: number, start: number): RegexNode {
    for (;;) {
      if (this.at >= end) throw new RegexError("unclosed [", start);
      if (this.src[this.at] === "]") break;
      if (this.src[this.at] === "\\") {
        const e = this.parseEscape(true);
        if (e.codePoint !== null && e.codePoint < 0x80) ascii[e.codePoint] = 1;
        else if (e.node && e.node.kind === "class") for (let b = 0; b < 0x80; b++) if (e.node.ascii[b]) ascii[b] = 1;
      } else {
        const cp = this.src.codePointAt(this.at)!;
        this.at += cp > 0xffff ? 2 : 1;
        if (cp < 0x80) ascii[cp] = 1;
      }
    }
    this.at++;
    return { kind: "class", ascii, multibyte: [], anyNonAscii: true };
  }
}

const CONT = range(0x80, 0xbf);
const LEAD_E = range(0xe1, 0xef);
LEAD_E[0xed] = 0;

class NfaBuilder {
  eps: number[][] = [];
  set: Array<Uint8Array | null> = [];
  to: number[] = [];

  constructor(private readonly budget?: ConstraintBudget) {}

  state(): number {
    if (this.eps.length >= REGEX_LIMITS.maxNfaStates)
      throw new RegexError(`the automaton would need more than REGEX_LIMITS.maxNfaStates = ${REGEX_LIMITS.maxNfaStates} states; use smaller repetition bounds`, 0);
    if (this.budget && this.eps.length >= this.budget.nfaStates)
      throw new RegexError(
        `checking the workflow's constraints builds more than SZCP_LIMITS.maxConstraintNfaStates = ${SZCP_LIMITS.maxConstraintNfaStates} automaton states in all, passed at this one; use fewer distinct constraints or smaller repetition bounds`,
        0,
      );
    this.eps.push([]);
    this.set.push(null);
    this.to.push(-1);
    return this.eps.length - 1;
  }

  edge(from: number, bytes: Uint8Array, to: number): void {
    this.set[from] = bytes;
    this.to[from] = to;
  }

  /** A chain of byte sets; returns [start, end]. */
  chain(sets: Uint8Array[]): [number, number] {
    const s = this.state();
    let cur = s;
    for (const set of sets) {
      const n = this.state();
      this.edge(cur, set, n);
      cur = n;
    }
    return [s, cur];
  }

  /**
   * From s to e: any well-formed UTF-8 sequence of 2–4 bytes — one code point in
   * U+0080..U+10FFFF, no overlong forms, no surrogates (Unicode Table 3-7) — so a match
   * always decodes to the characters the regex counted. The branches share their tails
   * ("k continuation bytes left"), so the DFA has 7 states inside a character, not 18.
   */
  nonAscii(s: number, e: number): void {
    const c1 = this.state(), c2 = this.state(), c3 = this.state();
    this.edge(c1, CONT, e);
    this.edge(c2, CONT, c1);
    this.edge(c3, CONT, c2);
    const lead = (bytes: Uint8Array, to: number) => {
      const l = this.state();
      this.eps[s]!.push(l);
      this.edge(l, bytes, to);
    };
    const second = (bytes: Uint8Array, to: number) => {
      const m = this.state();
      this.edge(m, bytes, to);
      return m;
    };
    lead(range(0xc2, 0xdf), c1);
    lead(single(0xe0), second(range(0xa0, 0xbf), c1));
    lead(LEAD_E, c2); // E1–EC, EE–EF
    lead(single(0xed), second(range(0x80, 0x9f), c1));
    lead(single(0xf0), second(range(0x90, 0xbf), c2));
    lead(range(0xf1, 0xf3), c3);
    lead(single(0xf4), second(range(0x80, 0x8f), c2));
  }

  build(node: RegexNode, depth: number): [number, number] {
    switch (node.kind) {
      case "bytes":
        return this.chain(node.sets);
      case "class": {
        const options: Uint8Array[][] = [[node.ascii], ...node.multibyte];
        const s = this.state();
        const e = this.state();
        for (const o of options) {
          const [a, b] = this.chain(o);
          this.eps[s]!.push(a);
          this.eps[b]!.push(e);
        }
        if (node.anyNonAscii) this.nonAscii(s, e);
        return [s, e];
      }
      case "seq": {
        const s = this.state();
        let cur = s;
        for (const item of node.items) {
          const [a, b] = this.build(item, depth + 1);
          this.eps[cur]!.push(a);
          cur = b;
        }
        return [s, cur];
      }
      case "alt": {
        const s = this.state();
        const e = this.state();
        for (const o of node.options) {
          const [a, b] = this.build(o, depth + 1);
          this.eps[s]!.push(a);
          this.eps[b]!.push(e);
        }
        return [s, e];
      }
      case "repeat": {
        const s = this.state();
        let cur = s;
        for (let i = 0; i < node.min; i++) {
          const [a, b] = this.build(node.item, depth + 1);
          this.eps[cur]!.push(a);
          cur = b;
        }
        if (node.max === -1) {
          const [a, b] = this.build(node.item, depth + 1);
          this.eps[cur]!.push(a);
          this.eps[b]!.push(a);
          const e = this.state();
          this.eps[cur]!.push(e);
          this.eps[b]!.push(e);
          return [s, e];
        }
        const e = this.state();
        for (let i = node.min; i < node.max; i++) {
          this.eps[cur]!.push(e);
          const [a, b] = this.build(node.item, depth + 1);
          this.eps[cur]!.push(a);
          cur = b;
        }
        this.eps[cur]!.push(e);
        return [s, e];
      }
    }
  }

  finish(start: number, accept: number): ByteNfa {
    return { eps: this.eps, set: this.set, to: this.to, start, accept };
  }
}
