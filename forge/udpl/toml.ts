/**
 * TOML text → plain object, with syntax errors turned into `UdplError`s that carry the
 * parser's line and column and, for mistakes we can recognise, a hint.
 *
 * Before smol-toml sees the text, its size and line count are checked against
 * `UDPL_LIMITS` (smol-toml is linear, but at a few µs per key or table and with two splits
 * of the whole text for each syntax error, so these bound its time); nesting is capped by
 * its `maxDepth` for inline values and by `checkNesting` for placeholder arguments.
 */
import { parse, TomlError } from "smol-toml";
import { UdplError } from "./errors.js";
import { UDPL_LIMITS, limitLabel } from "./limits.js";
import { isTable, type LintContext } from "./context.js";
import type { PathSegment } from "./locate.js";

export function parseTomlDocument(text: string, file: string): Record<string, unknown> {
  checkSize(text, file);
  try {
    return parse(text, { maxDepth: UDPL_LIMITS.maxNestingDepth }) as Record<string, unknown>;
  } catch (err) {
    if (!(err instanceof TomlError)) {
      throw new UdplError({ file, line: 0, column: 0, message: `TOML could not be parsed: ${String((err as Error)?.message ?? err).slice(0, 200)}` });
    }
    const reason = err.message.split("\n")[0].replace(/^Invalid TOML document:\s*/, "");
    const fullLine = lineAt(text, err.line);
    const at = fullLine[err.column - 1] ?? "";
    const lineText = excerpt(fullLine, err.column - 1);
    throw new UdplError({
      file,
      line: err.line,
      column: err.column,
      message: `TOML syntax error: ${reason}`,
      expected: at === ":" ? '"=" between a key and its value' : undefined,
      found: at ? JSON.stringify(at) + ` in: ${lineText.trim()}` : `end of line in: ${lineText.trim()}`,
      hint: reason.includes("excessively nested") ? `tables and arrays nest at most ${limitLabel("maxNestingDepth")} deep` : syntaxHint(reason, at, lineText),
    });
  }
}

/** `UDPL_LIMITS.maxSourceLength` and `maxLines`, checked in one pass that stops at the limit. */
function checkSize(text: string, file: string): void {
  if (text.length > UDPL_LIMITS.maxSourceLength) {
    // The position of the first character past the limit, counted without a line table.
    const limit = UDPL_LIMITS.maxSourceLength;
    let line = 1;
    let lineStart = 0;
    for (let i = text.indexOf("\n"); i >= 0 && i < limit; i = text.indexOf("\n", i + 1)) {
      line++;
      lineStart = i + 1;
    }
    const column = limit - lineStart + 1;
    throw new UdplError({
      file,
      line,
      column,
      message: `the file is longer than ${limitLabel("maxSourceLength")} characters`,
      expected: `at most ${UDPL_LIMITS.maxSourceLength} characters`,
      found: `${text.length}`,
      hint: "split the sequences over several files of a folder (parseUdplFolder)",
    });
  }
  let lines = 1;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) {
    if (++lines > UDPL_LIMITS.maxLines) {
      throw new UdplError({
        file,
        line: lines,
        column: 1,
        message: `the file has more than ${limitLabel("maxLines")} lines`,
        expected: `at most ${UDPL_LIMITS.maxLines} lines`,
        found: "more",
        hint: "split the sequences over several files of a folder (parseUdplFolder)",
      });
    }
  }
}

/**
 * Fails when `value` (a placeholder's `arguments`, the one free-form table of UDPL, handed
 * on to resources and serialized) nests deeper than `UDPL_LIMITS.maxNestingDepth`. smol-toml's
 * `maxDepth` bounds inline values only; a dotted key or a header (`arguments.a.b.c.… = 1`)
 * nests without it. Iterative, linear in the number of values.
 */
export function checkNesting(value: unknown, at: readonly PathSegment[], ctx: LintContext): void {
  interface Frame {
    value: unknown;
    depth: number;
    parent: Frame | null;
    seg: PathSegment;
  }
  const stack: Frame[] = [];
  const push = (v: unknown, depth: number, parent: Frame | null, seg: PathSegment): void => {
    if (Array.isArray(v) || isTable(v)) stack.push({ value: v, depth, parent, seg });
  };
  if (Array.isArray(value)) value.forEach((v, i) => push(v, 1, null, i));
  else if (isTable(value)) for (const [k, v] of Object.entries(value)) push(v, 1, null, k);
  while (stack.length) {
    const f = stack.pop()!;
    if (f.depth > UDPL_LIMITS.maxNestingDepth) {
      const path: PathSegment[] = [];
      for (let p: Frame | null = f; p; p = p.parent) path.push(p.seg);
      path.reverse();
      // The key named is cut at the limit; the position is that of the first value below it
      // (a dotted key records only its full path).
      const leaf = [...at, ...path];
      for (let v: unknown = f.value; Array.isArray(v) ? v.length > 0 : isTable(v); ) {
        const seg: PathSegment = Array.isArray(v) ? 0 : Object.keys(v as object)[0];
        if (seg === undefined) break;
        leaf.push(seg);
        v = (v as Record<string | number, unknown>)[seg];
      }
      const problem = ctx.problem([...at, ...path.slice(0, UDPL_LIMITS.maxNestingDepth + 1)], `tables and arrays nest deeper than ${limitLabel("maxNestingDepth")}`, {
        expected: `at most ${UDPL_LIMITS.maxNestingDepth} levels`,
        found: "more",
      });
      throw new UdplError({ ...problem, ...ctx.locator.nearest(leaf) });
    }
    if (Array.isArray(f.value)) f.value.forEach((v, i) => push(v, f.depth + 1, f, i));
    else for (const [k, v] of Object.entries(f.value as Record<string, unknown>)) push(v, f.depth + 1, f, k);
  }
}

/** Line `line` (1-based) of the text, found without splitting the whole text. */
function lineAt(text: string, line: number): string {
  let start = 0;
  for (let n = 1; n < line; n++) {
    const nl = text.indexOf("\n", start);
    if (nl < 0) return "";
    start = nl + 1;
  }
  const end = text.indexOf("\n", start);
  return text.slice(start, end < 0 ? text.length : end).replace(/\r$/, "");
}

/** At most 160 characters of a line around `column` (0-based), "…" marking the cuts. */
function excerpt(line: string, column: number): string {
  if (line.length <= 160) return line;
  const from = Math.max(0, Math.min(column - 80, line.length - 160));
  return (from > 0 ? "…" : "") + line.slice(from, from + 160) + (from + 160 < line.length ? "…" : "");
}

/** Names the usual cause of a TOML syntax error when we can tell what it is. */
function syntaxHint(reason: string, at: string, lineText: string): string | undefined {
  if (at === ":") return "use = in inline tables and key/value pairs: TOML writes {key = value}, not JSON's {\"key\": value}";
  if (reason.includes("redefine")) {
    return "duplicate key or table: each key and [table] may appear once; use [[name]] (double brackets) for the blocks of a sequence";
  }
  if (reason.includes("unfinished string") || reason.includes("control characters")) {
    return 'missing closing quote? a string ends on its own line; use """ ... """ for text over several lines';
  }
  if (reason.includes("invalid value")) return "strings need quotes: key = \"text\"";
  if (reason.includes("expected comma")) return "missing comma or closing bracket in an array or inline table";
  // A quote ended the string early: often TOML pasted into a JavaScript template literal, where \" arrives as a bare ".
  if (reason.includes("end-of-line") && /=\s*"[^"]*"[^\s#,\]}]/.test(lineText)) {
    return "a \" inside \"…\" ends the string: inside JavaScript backticks TOML's \\\" arrives as a bare \", so write the value as a TOML literal string '…' (quotes kept, no escapes) or the template as String.raw`…`";
  }
  if (reason.includes("end-of-line")) return "one key = value per line; put several values in an array [a, b]";
  if (lineText.includes(":") && !lineText.includes("=")) return "use = between a key and its value, not :";
  return undefined;
}
