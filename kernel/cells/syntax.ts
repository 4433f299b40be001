/** Cell text questions answered without running it: is it complete, is it a pager request, cursor offsets. */
import { cellTypeScript } from "./typescript.js";

export type Completeness = { status: "complete" } | { status: "incomplete"; indent: string } | { status: "invalid" };

/** `expr?`, `?expr`, `expr??`: the IPython pager syntax. Returns the expression, or null. */
export function pagerTarget(code: string): string | null {
  const m = /^\s*(\?{0,2})\s*([A-Za-z_$][\w$]*(?:\s*\.\s*[A-Za-z_$][\w$]*)*)\s*(\?{0,2})\s*$/.exec(code);
  if (!m || (m[1] === "" && m[3] === "")) return null;
  return m[2]!.replace(/\s+/g, "");
}

/**
 * complete: can run as is; incomplete: the parser ran off the end (an open brace, a dangling operator);
 * invalid: a syntax error before the end that more input cannot fix.
 */
export function checkCompleteness(code: string): Completeness {
  if (code.trim() === "" || pagerTarget(code) !== null) return { status: "complete" };
  // Two blank lines at the end: run it as it is (a console's way to force a cell).
  if (/(^|\n)\s*\n\s*$/.test(code)) return { status: "complete" };
  const ts = cellTypeScript();
  const file = ts.createSourceFile("cell.ts", code, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS) as unknown as {
    parseDiagnostics?: { start: number; length: number; messageText: string | { messageText: string } }[];
  };
  const diagnostics = file.parseDiagnostics ?? [];
  if (diagnostics.length === 0) return { status: "complete" };
  // The parser ran off the end wanting more ("'}' expected." at the end): more lines may complete it.
  if (diagnostics.some((d) => d.start === code.length && d.length === 0 && typeof d.messageText === "string" && d.messageText.endsWith(" expected."))) {
    return { status: "incomplete", indent: indentOnEnter(code) };
  }
  if (diagnostics.some((d) => d.start < code.length)) return { status: "invalid" };
  // Ran off the end otherwise (e.g. an unterminated string or template).
  return { status: "incomplete", indent: "" };
}

/** The next line's indent: the last line's, one level more after an opening bracket, less after a closing one. */
function indentOnEnter(code: string): string {
  const line = /[^\n]*$/.exec(code)![0];
  const current = /^\s*/.exec(line)![0];
  if (/^((?!.*?\/\*).*\*\/)?\s*[\}\]].*$/.test(line)) {
    if (current.endsWith("  ")) return current.slice(0, -2);
    if (current.endsWith("\t") || current.endsWith(" ")) return current.slice(0, -1);
    return current;
  }
  if (/^((?!\/\/).)*(\{[^}"'`]*|\([^)"'`]*|\[[^\]"'`]*)$/.test(line)) return current + "  ";
  return current;
}

/** Jupyter counts cursor positions in Unicode code points; JavaScript strings index UTF-16 units. */
export function codePointToUtf16(text: string, codePoints: number): number {
  let units = 0;
  let seen = 0;
  for (const ch of text) {
    if (seen >= codePoints) break;
    units += ch.length;
    seen++;
  }
  return units;
}

export function utf16ToCodePoint(text: string, units: number): number {
  return [...text.slice(0, units)].length;
}
