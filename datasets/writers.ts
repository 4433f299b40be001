/**
 * Writers: Arrow IPC file (`.arrow`, random access, what pyarrow.ipc.open_file / polars
 * read_ipc want), Arrow IPC stream (`.arrows`, readable front to back, e.g. from a pipe)
 * and JSON Lines (one object per row, Int64 written as a JSON number).
 *
 * `RunExportWriter` is the streaming exporter: it writes each record batch as soon as
 * `batchRows` rows have arrived, straight to the file, so exporting a run of any size
 * holds at most one batch of rows in memory beside the run itself.
 */
import type { Writable } from "node:stream";
import { RecordBatch, RecordBatchFileWriter, RecordBatchStreamWriter, Table, type RecordBatchWriter, type Schema } from "apache-arrow";
import type { Run, RunMetadata } from "../forge/run/index.js";
import type { SzcpWorkflow } from "../forge/index.js";
import { BatchBuilder, checkCell, columnKind } from "./batches.js";
import { DatasetError } from "./errors.js";
import { pathRows, sampleRows, type TokenCountSource } from "./rows.js";
import { tableSchema, type RowOf, type TableKind } from "./schema.js";
import { ArrowSinkQueue, toSink, type ByteSink, type WritableSinkOptions } from "./sink.js";
import { DEFAULT_BATCH_ROWS } from "./tables.js";

/** `arrow`: IPC file; `arrows`: IPC stream; `jsonl`: JSON Lines. Also the file extensions. */
export type ExportFormat = "arrow" | "arrows" | "jsonl";
export const EXPORT_FORMATS: readonly ExportFormat[] = ["arrow", "arrows", "jsonl"];

export interface WriteResult {
  /** The file written, when the target was a path. */
  path?: string;
  rows: number;
  batches: number;
  bytes: number;
}

export type WriteTarget = string | Writable;

/** Format named by a file's extension, if it is one of ours. */
export function formatOfPath(path: string): ExportFormat | null {
  const extension = path.slice(path.lastIndexOf(".") + 1).toLowerCase();
  if (extension === "arrow" || extension === "ipc" || extension === "feather") return "arrow";
  if (extension === "arrows") return "arrows";
  if (extension === "jsonl" || extension === "ndjson") return "jsonl";
  return null;
}

/**
 * Encodes rows or whole record batches into one format and hands the bytes to a sink.
 * `addRow` checks and buffers one row; `flushBatch` writes what is buffered as one batch.
 */
interface BatchEncoder {
  readonly pendingRows: number;
  addRow(row: object, rowNumber: number): void;
  flushBatch(): void;
  writeBatch(batch: RecordBatch): void;
  end(): void;
}

function arrowEncoder(sink: ByteSink, format: "arrow" | "arrows", schema: Schema, label: string): BatchEncoder {
  const writer: RecordBatchWriter =
    format === "arrow" ? new RecordBatchFileWriter({ autoDestroy: false }) : new RecordBatchStreamWriter({ autoDestroy: false });
  // Built on first row: tables of any schema can be written whole, rows need our column types.
  let rowBuilder: BatchBuilder | null = null;
  const builder = () => (rowBuilder ??= new BatchBuilder(schema, label));
  // Writes the schema message (and file magic) at once, so an empty export is still a valid file.
  const before = sink.bytes;
  writer.reset(new ArrowSinkQueue(sink), schema);
  // apache-arrow adopts the queue only if it is its own AsyncByteQueue class; with two
  // copies of the library loaded it would buffer everything elsewhere and write nothing.
  if (sink.bytes === before) throw new DatasetError(sink.label, "apache-arrow did not write the schema (two copies of apache-arrow loaded?)");
  return {
    get pendingRows() {
      return rowBuilder?.length ?? 0;
    },
    addRow: (row, rowNumber) => builder().add(row, rowNumber),
    flushBatch() {
      if (rowBuilder && rowBuilder.length > 0) writer.write(rowBuilder.finish());
    },
    writeBatch(batch) {
      // Re-wrap under the writer's schema: a batch whose schema metadata differs would make
      // apache-arrow start a new stream instead of appending.
      writer.write(batch.schema === schema ? batch : new RecordBatch(schema, batch.data));
    },
    end() {
      writer.close();
    },
  };
}

const bigintAsNumber = (_key: string, value: unknown) => (typeof value === "bigint" ? Number(value) : value);

/** JSON text of a cell. Int64 is written as a JSON integer, exact even past 2^53. */
function jsonCell(cell: unknown): string {
  switch (typeof cell) {
    case "string":
      return JSON.stringify(cell);
    case "number":
    case "bigint":
      return String(cell);
    case "boolean":
      return cell ? "true" : "false";
    case "object":
      if (cell === null) return "null";
      // Nested Arrow values (struct rows, list vectors) and dates of tables from elsewhere.
      return JSON.stringify("toJSON" in cell ? (cell as { toJSON(): unknown }).toJSON() : cell, bigintAsNumber) ?? "null";
    default:
      return "null";
  }
}

function jsonlEncoder(sink: ByteSink, schema: Schema, label: string): BatchEncoder {
  const fields = schema.fields;
  let columnKinds: ReturnType<typeof columnKind>[] | null = null; // on first row, as for Arrow
  const keys = fields.map((field) => JSON.stringify(field.name) + ":");
  let lines: string[] = [];
  const emit = (text: string[]) => {
    if (text.length > 0) sink.write(Buffer.from(text.join("\n") + "\n", "utf8"));
  };
  return {
    get pendingRows() {
      return lines.length;
    },
    addRow(row, rowNumber) {
      if (typeof row !== "object" || row === null) {
        throw new DatasetError(`${label} row ${rowNumber}`, `expected an object, got ${String(row)}`);
      }
      const record = row as Record<string, unknown>;
      const kinds = (columnKinds ??= fields.map(columnKind));
      let line = "{";
      for (let j = 0; j < fields.length; j++) {
        const cell = checkCell(fields[j]!, kinds[j]!, record[fields[j]!.name], label, rowNumber);
        line += (j > 0 ? "," : "") + keys[j] + jsonCell(cell);
      }
      lines.push(line + "}");
    },
    flushBatch() {
      emit(lines);
      lines = [];
    },
    writeBatch(batch) {
      const columns = fields.map((field) => batch.getChild(field.name));
      const text: string[] = [];
      for (let i = 0; i < batch.numRows; i++) {
        let line = "{";
        for (let j = 0; j < fields.length; j++) line += (j > 0 ? "," : "") + keys[j] + jsonCell(columns[j]?.get(i));
        text.push(line + "}");
      }
      emit(text);
    },
    end() {},
  };
}

function encoderFor(format: ExportFormat, sink: ByteSink, schema: Schema, label: string): BatchEncoder {
  if (format === "jsonl") return jsonlEncoder(sink, schema, label);
  if (format === "arrow" || format === "arrows") return arrowEncoder(sink, format, schema, label);
  throw new DatasetError(sink.label, `unknown format "${String(format)}" (expected one of ${EXPORT_FORMATS.join(", ")})`);
}

async function writeTable(table: Table, target: WriteTarget | ByteSink, format: ExportFormat, options?: WritableSinkOptions): Promise<WriteResult> {
  const sink = toSink(target, options);
  try {
    const encoder = encoderFor(format, sink, table.schema, String(table.schema.metadata.get("forge.table") ?? "table"));
    for (const batch of table.batches) {
      encoder.writeBatch(batch);
      await sink.flush();
    }
    encoder.end();
  } finally {
    await sink.close();
  }
  return { path: sink.path, rows: table.numRows, batches: table.batches.length, bytes: sink.bytes };
}

/** Arrow IPC file format (`.arrow`), batch by batch as the table holds them. */
export const writeArrowFile = (table: Table, path: string): Promise<WriteResult> => writeTable(table, path, "arrow");

/** Arrow IPC stream format (`.arrows`) to a file or a Writable (ended afterwards unless `end: false`). */
export const writeArrowStream = (table: Table, target: WriteTarget, options?: WritableSinkOptions): Promise<WriteResult> =>
  writeTable(table, target, "arrows", options);

/**
 * JSON Lines. From a Table: every column, in schema order. From rows: with `schema` the rows
 * are checked and written in its column order; without, each row is written as it is.
 */
export async function writeJsonl(
  source: Table | Iterable<object>,
  target: WriteTarget,
  options: WritableSinkOptions & { schema?: Schema } = {},
): Promise<WriteResult> {
  if (source instanceof Table) return writeTable(source, target, "jsonl", options);
  const sink = toSink(target, options);
  let rows = 0;
  let batches = 0;
  try {
    const encoder = options.schema ? jsonlEncoder(sink, options.schema, "jsonl") : null;
    let lines: string[] = [];
    const flush = async () => {
      if (encoder) encoder.flushBatch();
      else sink.write(Buffer.from(lines.join("\n") + "\n", "utf8"));
      lines = [];
      batches++;
      await sink.flush();
    };
    for (const row of source) {
      if (encoder) encoder.addRow(row, rows);
      else lines.push(JSON.stringify(row, bigintAsNumber));
      rows++;
      if (rows % DEFAULT_BATCH_ROWS === 0) await flush();
    }
    if (rows % DEFAULT_BATCH_ROWS !== 0) await flush();
  } finally {
    await sink.close();
  }
  return { path: sink.path, rows, batches, bytes: sink.bytes };
}

/** Format names accepted by `exportTable` besides our own three. */
const FORMAT_ALIASES: Record<string, ExportFormat> = {
  arrow: "arrow", ipc: "arrow", feather: "arrow", arrows: "arrows", stream: "arrows", jsonl: "jsonl", ndjson: "jsonl",
};

/**
 * Write any Arrow table (the agents' extraction tables, a filtered samples table…) to a
 * file, the format named or taken from the extension (default Arrow IPC file). This is the
 * `DatasetExporter` the agents' `datasets.export` built-in takes.
 */
export async function exportTable(table: Table, options: { path: string; format?: string }): Promise<WriteResult & { path: string }> {
  const { path } = options;
  const named = options.format?.toLowerCase();
  const format = named !== undefined ? FORMAT_ALIASES[named] : (formatOfPath(path) ?? "arrow");
  if (!format) {
    throw new DatasetError(path, `unknown format "${options.format}" (expected one of ${Object.keys(FORMAT_ALIASES).join(", ")})`);
  }
  const result = await writeTable(table, path, format);
  return { ...result, path };
}

export interface RunExportWriterOptions<K extends TableKind> {
  /** Which table: fixes the schema. */
  table: K;
  /** Default: from the path's extension (.arrow/.arrows/.jsonl), else "arrow". */
  format?: ExportFormat;
  /** Written to the schema metadata (Arrow formats). `appendRun` does not change it. */
  meta?: RunMetadata;
  workflow?: SzcpWorkflow;
  /** Rows per record batch (default 8192). */
  batchRows?: number;
  /** For a Writable target: end it on close (default true). */
  end?: boolean;
}

/**
 * Streaming exporter of one table to one file or stream.
 *
 *   const writer = RunExportWriter.open("out/samples.arrow", { table: "samples", meta: run.meta });
 *   await writer.appendRun(run);          // or appendRows(rows), as many times as needed
 *   const { rows, bytes } = await writer.close();
 */
export class RunExportWriter<K extends TableKind = TableKind> {
  readonly schema: Schema;
  readonly format: ExportFormat;
  private readonly sink: ByteSink;
  private readonly encoder: BatchEncoder;
  private readonly batchRows: number;
  private rowsWritten = 0;
  private batchesWritten = 0;
  private closed = false;

  private constructor(target: WriteTarget, private readonly options: RunExportWriterOptions<K>) {
    const path = typeof target === "string" ? target : null;
    const format = options.format ?? (path ? formatOfPath(path) : null) ?? "arrow";
    if (!EXPORT_FORMATS.includes(format)) {
      throw new DatasetError(path ?? "RunExportWriter", `unknown format "${String(format)}" (expected one of ${EXPORT_FORMATS.join(", ")})`);
    }
    if (options.table !== "samples" && options.table !== "paths") {
      throw new DatasetError(path ?? "RunExportWriter", `unknown table "${String(options.table)}" (expected samples or paths)`);
    }
    const batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
    if (!Number.isInteger(batchRows) || batchRows < 1) {
      throw new DatasetError(path ?? "RunExportWriter", `batchRows must be a positive integer, got ${String(batchRows)}`);
    }
    this.format = format;
    this.batchRows = batchRows;
    this.schema = tableSchema(options.table, { meta: options.meta, workflow: options.workflow });
    this.sink = toSink(target, { end: options.end });
    this.encoder = encoderFor(format, this.sink, this.schema, options.table);
  }

  /** Open the target (a file path is created or truncated now) and write the schema. */
  static open<K extends TableKind>(target: WriteTarget, options: RunExportWriterOptions<K>): RunExportWriter<K> {
    return new RunExportWriter(target, options);
  }

  /** Rows appended so far (written or waiting for their batch). */
  get rows(): number {
    return this.rowsWritten + this.encoder.pendingRows;
  }

  /** Append a run's rows (samples or paths, per the writer's table). */
  async appendRun(run: Run, tokenCounts?: TokenCountSource): Promise<void> {
    const rows = this.options.table === "samples" ? sampleRows(run, tokenCounts) : pathRows(run);
    await this.appendRows(rows as Iterable<RowOf<K>>);
  }

  /** Append rows; a record batch is written each time `batchRows` rows are pending. */
  async appendRows(rows: Iterable<RowOf<K>>): Promise<void> {
    this.ensureOpen();
    for (const row of rows) {
      this.encoder.addRow(row, this.rows);
      if (this.encoder.pendingRows >= this.batchRows) await this.writePending();
    }
  }

  /** Write what is pending, finish the file (footer / end-of-stream) and close it. */
  async close(): Promise<WriteResult> {
    if (!this.closed) {
      try {
        if (this.encoder.pendingRows > 0) await this.writePending();
        this.encoder.end();
      } finally {
        this.closed = true;
        await this.sink.close();
      }
    }
    return { path: this.sink.path, rows: this.rowsWritten, batches: this.batchesWritten, bytes: this.sink.bytes };
  }

  private async writePending(): Promise<void> {
    this.rowsWritten += this.encoder.pendingRows;
    this.encoder.flushBatch();
    this.batchesWritten++;
    await this.sink.flush();
  }

  private ensureOpen(): void {
    if (this.closed) throw new DatasetError(this.sink.label, "RunExportWriter is closed");
  }
}
