/**
 * A table that shows itself in the notebook: `preview(table)` is a Displayable
 * (forge/display.ts) whose bundle has a one-line text summary and an HTML table of the
 * first rows, every cell escaped. The run's own columns (`run_id`, `workflow_hash`,
 * `backend`), when they hold one value in every row, are said once above the table instead
 * of on each row, and line breaks inside a cell are kept.
 */
import { DataType, type Table } from "apache-arrow";
import { mimeBundle, type Displayable, type MimeBundle } from "../forge/display.js";

export interface PreviewOptions {
  /** Rows shown in the HTML table (default 20). */
  rows?: number;
  /** Characters shown of a long cell before "…" (default 120). */
  maxCellChars?: number;
}

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

function cellText(value: unknown, maxChars: number): string {
  if (value === null || value === undefined) return "null";
  const text = typeof value === "string" ? value : typeof value === "bigint" ? value.toString() : String(value);
  return text.length > maxChars ? text.slice(0, maxChars) + "…" : text;
}

/** A cell as HTML: escaped, its line breaks drawn as breaks (HTML would fold them into spaces). */
const cellHtml = (value: unknown, maxChars: number): string => escapeHtml(cellText(value, maxChars)).replace(/\r?\n/g, "<br>");

/** Columns that describe the run rather than the row: one value for a whole run. */
export const RUN_COLUMNS = ["run_id", "workflow_hash", "backend"];

/** The RUN_COLUMNS (text) that hold one value, not null, in every row of a table of 2 rows or more. */
export function constantColumns(table: Table): Map<string, string> {
  const constant = new Map<string, string>();
  if (table.numRows < 2) return constant;
  for (const field of table.schema.fields) {
    if (!RUN_COLUMNS.includes(field.name) || !DataType.isUtf8(field.type)) continue;
    const column = table.getChild(field.name);
    const first: unknown = column?.get(0);
    if (typeof first !== "string") continue;
    let same = true;
    for (let i = 1; same && i < table.numRows; i++) same = column!.get(i) === first;
    if (same) constant.set(field.name, first);
  }
  return constant;
}

/** `samples: 1,234 rows × 10 columns (run_id: Utf8, stream: Int32, …)` */
export function tableSummary(table: Table): string {
  const kind = table.schema.metadata.get("forge.table") ?? "table";
  const columns = table.schema.fields.map((f) => `${f.name}: ${String(f.type)}`).join(", ");
  return `${kind}: ${table.numRows.toLocaleString("en-US")} rows × ${table.numCols} columns (${columns})`;
}

export function previewHtml(table: Table, { rows = 20, maxCellChars = 120 }: PreviewOptions = {}): string {
  const constant = constantColumns(table);
  const fields = table.schema.fields.filter((f) => !constant.has(f.name));
  const shown = Math.min(rows, table.numRows);
  const head = fields
    .map((f) => `<th title="${escapeHtml(String(f.type))}">${escapeHtml(f.name)}</th>`)
    .join("");
  const columns = fields.map((f) => table.getChild(f.name));
  const body: string[] = [];
  for (let i = 0; i < shown; i++) {
    const cells = columns.map((column) => `<td>${cellHtml(column?.get(i), maxCellChars)}</td>`);
    body.push(`<tr>${cells.join("")}</tr>`);
  }
  const more = table.numRows > shown ? `<p>… ${(table.numRows - shown).toLocaleString("en-US")} more rows</p>` : "";
  const same = [...constant].map(([name, value]) => `<code>${escapeHtml(name)}</code> = ${escapeHtml(cellText(value, maxCellChars))}`);
  const sameLine = same.length ? `<p>In every row: ${same.join(", ")}</p>` : "";
  return (
    `<div class="forge-table">${sameLine}<table><caption>${escapeHtml(tableSummary(table))}</caption>` +
    `<thead><tr>${head}</tr></thead><tbody>${body.join("")}</tbody></table>${more}</div>`
  );
}

export interface TablePreview extends Displayable {
  readonly table: Table;
  toString(): string;
}

/**
 * Let a table display itself in the notebook as it is: a non-enumerable `[mimeBundle]`
 * method on the instance (tables made by slicing it are plain again). Returns the table.
 */
export function withDisplay<T extends Table>(table: T, options: PreviewOptions = {}): T & Displayable {
  if (!(mimeBundle in table)) {
    Object.defineProperty(table, mimeBundle, {
      value: (): MimeBundle => ({ "text/html": previewHtml(table, options), "text/plain": tableSummary(table) }),
      enumerable: false,
    });
  }
  return table as T & Displayable;
}

/** Wrap a table so the kernel displays it (HTML + text/plain summary). */
export function preview(table: Table, options: PreviewOptions = {}): TablePreview {
  return {
    table,
    [mimeBundle]: (): MimeBundle => ({ "text/html": previewHtml(table, options), "text/plain": tableSummary(table) }),
    toString: () => tableSummary(table),
  };
}
