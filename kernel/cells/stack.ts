/**
 * Stack traces that name the cell and the line and column the user typed: `<cell-3>:2:9`.
 *
 * A cell runs as compiled JavaScript (compiler.ts) in a vm script named after the cell; its
 * source map is registered here, and Error.prepareStackTrace maps the cell's frames through it
 * whenever a stack is formatted — so `error.stack`, and the SFCS builder's call sites (read from
 * a stack, forge/sfcs/callsite.ts), both see the cell's positions. Other frames are mapped with
 * the source maps Node keeps (the kernel bundle's), as Node itself would once a
 * prepareStackTrace is installed (it then stops mapping them itself).
 */
import { findSourceMap, SourceMap } from "node:module";
import { fileURLToPath } from "node:url";

/** Maps kept: the most recent cells' (a long session's oldest cells' frames are shown unmapped). */
const MAX_CELL_MAPS = 5_000;

interface CellMap {
  map: SourceMap;
  /** Lines of the vm script before the compiled cell's first line. */
  lineOffset: number;
}

const cellMaps = new Map<string, CellMap>();

/**
 * A file name for a cell's script that no other script has: `<cell-<count>>`, or `<cell-3~2>`
 * for a second script under the same count (a silent request).
 */
export function cellFileName(count: number): string {
  const base = `<cell-${count}`;
  if (!cellMaps.has(`${base}>`)) return `${base}>`;
  for (let n = 2; ; n++) if (!cellMaps.has(`${base}~${n}>`)) return `${base}~${n}>`;
}

/** Register the source map of the script `fileName` (whose compiled code starts `lineOffset` lines down). */
export function registerCellMap(fileName: string, mapJson: string, lineOffset: number): void {
  cellMaps.set(fileName, { map: new SourceMap(JSON.parse(mapJson) as ConstructorParameters<typeof SourceMap>[0]), lineOffset });
  while (cellMaps.size > MAX_CELL_MAPS) cellMaps.delete(cellMaps.keys().next().value!);
  installStackMapping();
}

/** `file:line:column` (1-based) as the user should see it, or null to keep the frame's own. */
function mappedLocation(file: string, line: number, column: number): string | null {
  const cell = cellMaps.get(file);
  if (cell) {
    const entry = cell.map.findEntry(line - 1 - cell.lineOffset, column - 1) as { originalLine?: number; originalColumn?: number };
    if (entry.originalLine === undefined || entry.originalColumn === undefined) return null;
    return `${file}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
  }
  const map = findSourceMap(file);
  if (!map) return null;
  const entry = map.findEntry(line - 1, column - 1) as { originalSource?: string; originalLine?: number; originalColumn?: number };
  if (entry.originalSource === undefined || entry.originalLine === undefined || entry.originalColumn === undefined) return null;
  const source = entry.originalSource.startsWith("file://") ? fileURLToPath(entry.originalSource) : entry.originalSource;
  return `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
}

function frameText(frame: NodeJS.CallSite): string {
  const text = frame.toString();
  const file = frame.getFileName() ?? frame.getScriptNameOrSourceURL?.();
  const line = frame.getLineNumber();
  const column = frame.getColumnNumber();
  if (!file || line === null || column === null) return text;
  let mapped: string | null = null;
  try {
    mapped = mappedLocation(file, line, column);
  } catch {
    // a source map that cannot be read: the frame as V8 gives it
  }
  if (mapped === null) return text;
  const at = `${file}:${line}:${column}`;
  const index = text.lastIndexOf(at);
  return index < 0 ? text : text.slice(0, index) + mapped + text.slice(index + at.length);
}

/** V8's own format (`Error: message` then `    at frame` lines), with frames mapped. */
function prepareStackTrace(error: Error, frames: NodeJS.CallSite[]): string {
  let header: string;
  try {
    header = Error.prototype.toString.call(error);
  } catch {
    header = "<error>";
  }
  return header + frames.map((frame) => `\n    at ${frameText(frame)}`).join("");
}

let installed = false;

/** Install the mapping as Error.prepareStackTrace (once; a cell that replaces it loses the mapping). */
export function installStackMapping(): void {
  if (installed) return;
  installed = true;
  Error.prepareStackTrace = prepareStackTrace;
}

/** Whether a formatted stack line (`    at …`) is a frame of a cell. */
export function isCellFrame(line: string): boolean {
  return /[(\s]<cell-\d+(?:~\d+)?>:\d+:\d+\)?\s*$/.test(line);
}
