/**
 * TOML text → plain object, with syntax errors turned into `UdplError`s that carry the
 * parser's line and column and, for mistakes we can recognise, a hint.
 */
import { parse, TomlError } from "smol-toml";
import { UdplError } from "./errors.js";

export function parseTomlDocument(text: string, file: string): Record<string, unknown> {
  try {
    return parse(text) as Record<string, unknown>;
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    const reason = err.message.split("\n")[0].replace(/^Invalid TOML document:\s*/, "");
    const lineText = text.split("\n")[err.line - 1] ?? "";
    const at = lineText[err.column - 1] ?? "";
    throw new UdplError({
      file,
      line: err.line,
      column: err.column,
      message: `TOML syntax error: ${reason}`,
      expected: at === ":" ? '"=" between a key and its value' : undefined,
      found: at ? JSON.stringify(at) + ` in: ${lineText.trim()}` : `end of line in: ${lineText.trim()}`,
      hint: syntaxHint(reason, at, lineText),
    });
  }
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
  if (reason.includes("end-of-line")) return "one key = value per line; put several values in an array [a, b]";
  if (lineText.includes(":") && !lineText.includes("=")) return "use = between a key and its value, not :";
  return undefined;
}
