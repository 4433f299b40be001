/**
 * `parseTemplate` of zcp/text.ts, in linear time. That one looks for the `}` closing each
 * lone `{` with `indexOf` from the brace, so a text of many `{` and no `}` (`{a{a{a…`)
 * rescans the rest of the text per brace: 500 000 of them took minutes. Here the position
 * of the next `}` is remembered and looked up again only once the scan has passed it, so
 * each character is looked at a bounded number of times. Everything else is the same code,
 * and test/forge/udpl/limits.test.ts checks that both give the same segments and issues on
 * generated texts. (zcp/text.ts is outside this change; its owner may take this version.)
 */
import type { TemplateSegment, TextIssue } from "../zcp/text.js";

const PLACEHOLDER_NAME = /^[A-Za-z0-9_-]+$/;

/**
 * Splits text into literals and `{name}` placeholders. `{{` and `}}` are literal braces;
 * braces inside a pattern occurrence (`protectedSpans`) are literal too.
 * `base` is the offset of `text` within the block text, for issue offsets. With
 * `firstIssueOnly`, the scan stops at the first issue (all are errors, and the parser
 * reports the first), so a text of a million stray braces does not make a million issues.
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
