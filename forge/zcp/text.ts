/**
 * Block text → zone texts. Three passes over one string, each pure:
 *  1. `scanTriggers`: find every pattern occurrence the way the engine's byte automaton
 *     will (earliest end first, no overlaps, restart after a match) and mark the ones an
 *     escape neutralises;
 *  2. `splitZones`: cut the text after each active zone token, in order;
 *  3. `parseTemplate`: split a zone's text into literals and `{placeholder}`s.
 * Problems come back as `TextIssue`s with offsets; the UDPL layer turns them into
 * located errors and warnings.
 */
import type { EscapeSpec } from "../szcp/types.js";

export interface TriggerPatterns {
  zoneTokens: readonly string[];
  controlToken: string;
  escape: EscapeSpec | null;
}

export type TriggerKind = "zone" | "control" | "escape" | "escape_open" | "escape_close";

export interface TriggerMatch {
  start: number;
  end: number;
  pattern: string;
  kind: TriggerKind;
  /** Index into zoneTokens for kind "zone", else -1. */
  zoneIndex: number;
  /** True when an escape neutralises this occurrence (it splits nothing, fires nothing). */
  escaped: boolean;
}

export interface TextIssue {
  severity: "error" | "warning";
  /** Offset into the block text where the problem is. */
  offset: number;
  message: string;
  expected?: string;
  found?: string;
}

interface PatternEntry {
  pattern: string;
  kind: TriggerKind;
  zoneIndex: number;
}

function patternEntries(p: TriggerPatterns): PatternEntry[] {
  const entries: PatternEntry[] = p.zoneTokens.map((t, i) => ({ pattern: t, kind: "zone" as const, zoneIndex: i }));
  entries.push({ pattern: p.controlToken, kind: "control", zoneIndex: -1 });
  if (p.escape?.kind === "single") entries.push({ pattern: p.escape.token, kind: "escape", zoneIndex: -1 });
  if (p.escape?.kind === "pair") {
    entries.push({ pattern: p.escape.open, kind: "escape_open", zoneIndex: -1 });
    entries.push({ pattern: p.escape.close, kind: "escape_close", zoneIndex: -1 });
  }
  return entries.filter((e) => e.pattern.length > 0);
}

/** Finds pattern occurrences as a streaming matcher would and applies the escape rules. */
export function scanTriggers(text: string, patterns: TriggerPatterns): { matches: TriggerMatch[]; issues: TextIssue[] } {
  const candidates: TriggerMatch[] = [];
  for (const entry of patternEntries(patterns)) {
    for (let at = text.indexOf(entry.pattern); at >= 0; at = text.indexOf(entry.pattern, at + 1)) {
      candidates.push({ start: at, end: at + entry.pattern.length, pattern: entry.pattern, kind: entry.kind, zoneIndex: entry.zoneIndex, escaped: false });
    }
  }
  // Earliest end wins (that is when a streaming matcher sees it); on a tie, the longer pattern.
  candidates.sort((a, b) => a.end - b.end || a.start - b.start);
  const matches: TriggerMatch[] = [];
  let consumedUpTo = 0;
  for (const c of candidates) {
    if (c.start < consumedUpTo) continue;
    matches.push(c);
    consumedUpTo = c.end;
  }
  const issues: TextIssue[] = [];
  const escape = patterns.escape;
  if (escape?.kind === "single") {
    let pending: TriggerMatch | null = null;
    for (const m of matches) {
      if (pending) {
        m.escaped = true;
        pending = null;
      } else if (m.kind === "escape") pending = m;
    }
    if (pending) {
      issues.push({
        severity: "warning",
        offset: pending.start,
        message: `escape token ${JSON.stringify(escape.token)} at the end of the text escapes nothing in the text: it will neutralise the first pattern generated after it`,
      });
    }
  } else if (escape?.kind === "pair") {
    let openedAt: TriggerMatch | null = null;
    for (const m of matches) {
      if (m.kind === "escape_close") {
        if (!openedAt) {
          issues.push({
            severity: "error",
            offset: m.start,
            message: `closing escape ${JSON.stringify(escape.close)} has no opening ${JSON.stringify(escape.open)} before it`,
            expected: `${escape.open} before ${escape.close}`,
            found: `${escape.close} alone`,
          });
        }
        openedAt = null;
      } else if (openedAt) m.escaped = true;
      else if (m.kind === "escape_open") openedAt = m;
    }
    if (openedAt) {
      issues.push({
        severity: "error",
        offset: openedAt.start,
        message: `escape ${JSON.stringify(escape.open)} is never closed by ${JSON.stringify(escape.close)}`,
        expected: escape.close,
        found: "end of text",
      });
    }
  }
  for (const m of matches) {
    if (m.kind === "control" && !m.escaped) {
      issues.push({
        severity: "warning",
        offset: m.start,
        message: `control pattern ${JSON.stringify(m.pattern)} appears unescaped in the text: it would fire the moment it is fed`,
      });
    }
  }
  return { matches, issues };
}

export interface ZoneSplit {
  /** [start, end) of each zone's text in the block text; length = zoneTokens.length - 1. */
  pieces: Array<{ start: number; end: number }>;
  /** Zone tokens found active in the text, by index (true when present). */
  present: boolean[];
  matches: TriggerMatch[];
  issues: TextIssue[];
}

/**
 * Zone k's text runs from just after zone token k (zone 0: from the start) up to and
 * including zone token k+1. Text that stops before token k+1 leaves the rest of zone k,
 * and all later zones, to generation.
 */
export function splitZones(text: string, patterns: TriggerPatterns): ZoneSplit {
  const { matches, issues } = scanTriggers(text, patterns);
  const n = patterns.zoneTokens.length - 1;
  const present = patterns.zoneTokens.map(() => false);
  const endOf: number[] = patterns.zoneTokens.map(() => -1);
  let expected = 0;
  for (const m of matches) {
    if (m.kind !== "zone" || m.escaped) continue;
    const i = m.zoneIndex;
    // The opening token t0 may be left out; after it the tokens must follow each other.
    if (i === expected || (expected === 0 && i === 1)) {
      present[i] = true;
      endOf[i] = m.end;
      expected = i + 1;
      continue;
    }
    const want = expected < patterns.zoneTokens.length ? JSON.stringify(patterns.zoneTokens[expected]) : "no more zone tokens";
    issues.push({
      severity: "error",
      offset: m.start,
      message: `zone token ${JSON.stringify(m.pattern)} is out of order (zone tokens must appear in the order of zone_tokens, each once; escape it to write it literally)`,
      expected: want,
      found: JSON.stringify(m.pattern),
    });
    return { pieces: [], present, matches, issues };
  }
  const pieces: Array<{ start: number; end: number }> = [];
  let cursor = 0;
  for (let k = 0; k < n; k++) {
    const closes = endOf[k + 1];
    const opened = k === 0 || present[k];
    if (!opened) pieces.push({ start: text.length, end: text.length });
    else if (closes >= 0) {
      pieces.push({ start: cursor, end: closes });
      cursor = closes;
    } else {
      pieces.push({ start: cursor, end: text.length });
      cursor = text.length;
    }
  }
  const trailing = text.slice(cursor);
  if (present[n] && trailing.trim() !== "") {
    issues.push({
      severity: "error",
      offset: cursor,
      message: `text after the last zone token ${JSON.stringify(patterns.zoneTokens[n])} would never be fed`,
      expected: "end of text",
      found: JSON.stringify(trailing.length > 30 ? trailing.slice(0, 30) + "…" : trailing),
    });
  }
  return { pieces, present, matches, issues };
}

export type TemplateSegment =
  | { kind: "literal"; text: string }
  | { kind: "placeholder"; name: string; offset: number };

const PLACEHOLDER_NAME = /^[A-Za-z0-9_-]+$/;

/**
 * Splits text into literals and `{name}` placeholders. `{{` and `}}` are literal braces;
 * braces inside a pattern occurrence (`protectedSpans`) are literal too.
 * `base` is the offset of `text` within the block text, for issue offsets. With
 * `firstIssueOnly`, the scan stops at the first issue (all are errors, and the parser
 * reports the first), so a text of a million stray braces does not make a million issues.
 * Linear: the next `}` is looked up once and reused until the scan passes it, so a text of
 * many lone `{` (`{a{a{a…`) is not rescanned from every brace.
 */
export function parseTemplate(
  text: string,
  base = 0,
  protectedSpans: ReadonlyArray<{ start: number; end: number }> = [],
  firstIssueOnly = false,
): { segments: TemplateSegment[]; issues: TextIssue[] } {
  const segments: TemplateSegment[] = [];
  const issues: TextIssue[] = [];
  let literal = "";
  let spanIndex = 0;
  const braces = /[{}]/g;
  let i = 0;
  // The first "}" after the last brace looked at (-1: none left; -2: not looked up yet).
  let nextClose = -2;
  // Jump from brace to brace; everything between is literal (sliced, not copied char by char).
  for (let match = braces.exec(text); match; match = braces.exec(text)) {
    const at = match.index;
    const abs = base + at;
    while (spanIndex < protectedSpans.length && protectedSpans[spanIndex].end <= abs) spanIndex++;
    const span = protectedSpans[spanIndex];
    if (span && span.start <= abs) {
      braces.lastIndex = Math.min(span.end - base, text.length);
      continue;
    }
    literal += text.slice(i, at);
    const ch = text[at];
    if (text[at + 1] === ch) {
      literal += ch; // {{ or }}
      i = braces.lastIndex = at + 2;
      continue;
    }
    if (ch === "{") {
      if (nextClose === -2 || (nextClose >= 0 && nextClose <= at)) nextClose = text.indexOf("}", at + 1);
      const close = nextClose;
      const name = close > 0 ? text.slice(at + 1, close) : "";
      if (close >= 0 && PLACEHOLDER_NAME.test(name)) {
        if (literal) segments.push({ kind: "literal", text: literal });
        literal = "";
        segments.push({ kind: "placeholder", name, offset: abs });
        i = braces.lastIndex = close + 1;
        continue;
      }
      issues.push({
        severity: "error",
        offset: abs,
        message: "unmatched '{' in text: write '{{' for a literal brace, or '{name}' for a placeholder (name: letters, digits, _ or -)",
        expected: "'{{' or '{name}'",
        found: JSON.stringify(text.slice(at, Math.min(text.length, at + 20))),
      });
    } else {
      issues.push({ severity: "error", offset: abs, message: "unmatched '}' in text: write '}}' for a literal brace", expected: "'}}'", found: "'}'" });
    }
    if (firstIssueOnly) return { segments, issues };
    literal += ch;
    i = at + 1;
  }
  literal += text.slice(i);
  if (literal) segments.push({ kind: "literal", text: literal });
  return { segments, issues };
}

/** 1-based line and column of an offset within a string. */
export function lineColumnOf(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
