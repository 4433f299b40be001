/**
 * Agent files in and out of the editor without spurious changes: a document the editor did not
 * change is written back byte for byte (comments, key order and spacing kept); a changed one is
 * written in the file's format (JSON with two-space indent, TOML by smol-toml).
 */
import { parse as parseToml, stringify as stringifyToml } from "smol-toml";
import { StudioError } from "./errors.js";

export type DataFormat = "toml" | "json";

export function formatOf(path: string): DataFormat | null {
  if (path.endsWith(".toml")) return "toml";
  if (path.endsWith(".json")) return "json";
  return null;
}

export function parseAgentText(text: string, format: DataFormat, where: string): unknown {
  try {
    return format === "json" ? JSON.parse(text) : parseToml(text);
  } catch (error) {
    throw new StudioError(where, `not valid ${format.toUpperCase()}: ${(error as Error).message}`);
  }
}

/** Deep equality of parsed file data (plain JSON values; TOML dates compared as text). */
export function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => sameData(v, bb[i]));
  }
  if (a instanceof Date || b instanceof Date) return String(a) === String(b);
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && sameData((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** The text to write for `data`: `original` itself when it already says exactly that. */
export function serializeAgentData(data: unknown, format: DataFormat, original?: string): string {
  if (original !== undefined) {
    try {
      if (sameData(parseAgentText(original, format, "original"), data)) return original;
    } catch {
      // The original was not valid: write the new data.
    }
  }
  if (format === "json") return JSON.stringify(data, null, 2) + "\n";
  return stringifyToml(data as Record<string, unknown>) + "\n";
}
