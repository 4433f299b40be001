/**
 * A table that shows itself in the notebook: `preview(table)` is a Displayable
 * (forge/display.ts) whose bundle has a one-line text summary and an HTML table of the
 * first rows, every cell escaped.
 */
import type { Table } from "apache-arrow";
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

/** `samples: 1,234 rows × 10 columns (run_id: Utf8, stream: Int32, …)` */
export function tableSummary(table: Table): string {
  const kind = table.schema.metadata.get("forge.table") ?? "table";
  const columns = table.schema.fields.map((f) => `${f.name}: ${String(f.type)}`).join(", ");
  return `${kind}: ${table.numRows.toLocaleString("en-US")} rows × ${table.numCols} columns (${columns})`;
}

export function previewHtml(table: Table, { rows = 20, maxCellChars = 120 }: PreviewOptions = {}): string {
  const fields = table.schema.fields;
  const shown = Math.min(rows, table.numRows);
  const head = fields
    .map((f) => `<th title="${escapeHtml(String(f.type))}">${escapeHtml(f.name)}</th>`)
    .join("");
  const columns = fields.map((f) => table.getChild(f.name));
  const body: string[] = [];
  for (let i = 0; i < shown; i++) {
    const cells = columns.map((column) => `<td>${escapeHtml(cellText(column?.get(i), maxCellChars))}</td>`);
    body.push(`<tr>${cells.join("")}</tr>`);
  }
  const more = table.numRows > shown ? `<p>… ${(table.numRows - shown).toLocaleString("en-US")} more rows</p>` : "";
  return (
    `<div class="forge-table"><table><caption>${escapeHtml(tableSummary(table))}</caption>` +
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
