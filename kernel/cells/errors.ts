/** How a failed cell is reported: Jupyter's ename / evalue / traceback. */
import { inspect } from "node:util";
import { isForgeError } from "../../forge/errors.js";
import { isCellFrame } from "./stack.js";

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

/** `cell`: the cell's name (`<cell-3>`), as its stack frames give it. */
export function diagnosticsError(diagnostics: CellDiagnostic[], cell = "<cell>"): CellError {
  const where = (d: CellDiagnostic) => `${d.file || cell}:${d.line}:${d.column}`;
  return {
    ename: "TypeScriptError",
    evalue: diagnostics.map((d) => `${where(d)}: ${d.message}`).join("; "),
    traceback: [`${RED}TypeScriptError${RESET}: the cell was not run`, ...diagnostics.map((d) => `  ${where(d)}: ${d.message}`)],
  };
}

/** Frames of the kernel's machinery say nothing to the cell's author. */
function isUserFrame(line: string): boolean {
  return !/node:vm|node:internal|kernel[\\/]cells[\\/]|kernel[\\/]server|forge-kernel[\\/]bundle[\\/]kernel[\\/]/.test(line);
}

/** A Forge error whatever module instance threw it (a cell may load its own copy of forge). */
function isMistake(thrown: Error): boolean {
  if (isForgeError(thrown)) return true;
  for (let p = Object.getPrototypeOf(thrown) as { constructor?: { name?: string } } | null; p; p = Object.getPrototypeOf(p) as typeof p) {
    if (p.constructor?.name === "ForgeError") return true;
  }
  return false;
}

/**
 * A thrown error's report. A Forge error is the user's mistake: its trace shows only the cells'
 * frames (where the user's code called), not the library's frames that found the mistake.
 */
export function thrownError(thrown: unknown): CellError {
  if (thrown instanceof Error) {
    const ename = thrown.name || "Error";
    const keep = isMistake(thrown) ? isCellFrame : isUserFrame;
    const frames = (thrown.stack ?? "").split("\n").filter((l) => /^\s+at /.test(l) && keep(l));
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
