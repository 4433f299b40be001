/** How a failed cell is reported: Jupyter's ename / evalue / traceback. */
import { inspect } from "node:util";
import type { TslabDiagnosticPos } from "./tslab.js";

export interface CellError {
  ename: string;
  evalue: string;
  traceback: string[];
}

const RED = "\x1b[31m";
const RESET = "\x1b[0m";

/** A type or syntax error found before the cell ran. */
export interface CellDiagnostic {
  /** Other file the diagnostic is in ("" for the cell itself). */
  file: string;
  line: number;
  column: number;
  message: string;
}

export function diagnosticsError(diagnostics: CellDiagnostic[]): CellError {
  const where = (d: CellDiagnostic) => `${d.file ? d.file + " " : "cell "}line ${d.line}, column ${d.column}`;
  return {
    ename: "TypeScriptError",
    evalue: diagnostics.map((d) => `${where(d)}: ${d.message}`).join("; "),
    traceback: [`${RED}TypeScriptError${RESET}: the cell was not run`, ...diagnostics.map((d) => `  ${where(d)}: ${d.message}`)],
  };
}

/** Frames of the kernel and tslab machinery say nothing to the cell's author. */
function isUserFrame(line: string): boolean {
  return !/node:vm|node:internal|tslab[\\/]dist|kernel[\\/]cells[\\/]|kernel[\\/]server/.test(line);
}

export function thrownError(thrown: unknown): CellError {
  if (thrown instanceof Error) {
    const ename = thrown.name || "Error";
    const frames = (thrown.stack ?? "").split("\n").filter((l) => /^\s+at /.test(l) && isUserFrame(l));
    return {
      ename,
      evalue: thrown.message,
      traceback: [`${RED}${ename}${RESET}: ${thrown.message}`, ...frames],
    };
  }
  const text = inspect(thrown);
  return { ename: "Thrown", evalue: text, traceback: [`${RED}Uncaught${RESET} ${text}`] };
}

export function interruptedError(detail: string): CellError {
  return {
    ename: "Interrupted",
    evalue: detail,
    traceback: [`${RED}Interrupted${RESET}: ${detail}`],
  };
}

/** tslab reports diagnostics through `console.error("%s%d:%d - %s", file, line, column, message)`. */
export function parseTslabDiagnostic(args: unknown[]): CellDiagnostic | null {
  if (args[0] !== "%s%d:%d - %s" || args.length < 5) return null;
  return { file: String(args[1]).trim(), line: Number(args[2]), column: Number(args[3]), message: String(args[4]) };
}

export type { TslabDiagnosticPos };
