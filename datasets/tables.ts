/**
 * Whole-run tables in memory: convenient for notebooks and small runs. Large exports go
 * through `RunExportWriter`, which writes the same rows batch by batch instead.
 */
import { Table } from "apache-arrow";
import type { Run } from "../forge/run/index.js";
import { BatchBuilder } from "./batches.js";
import { withDisplay } from "./preview.js";
import { pathRows, sampleRows, type TokenCountSource } from "./rows.js";
import { tableSchema, type TableKind } from "./schema.js";

/** Rows per record batch unless told otherwise. */
export const DEFAULT_BATCH_ROWS = 8192;

/** A table of `kind` from rows, checked, in record batches of `batchRows`. */
export function tableFromRows(kind: TableKind, rows: Iterable<object>, schema = tableSchema(kind), batchRows = DEFAULT_BATCH_ROWS): Table {
  const builder = new BatchBuilder(schema, kind);
  const batches = [];
  let row = 0;
  for (const item of rows) {
    builder.add(item, row++);
    if (builder.length >= batchRows) batches.push(builder.finish());
  }
  if (builder.length > 0) batches.push(builder.finish());
  // Displayable as it is, so a notebook cell ending in samplesTable(run) shows a preview.
  return withDisplay(batches.length > 0 ? new Table(batches) : new Table(schema));
}

/** One row per (stream, extraction): run_id, stream, extraction, text, token_count, path_id, status, seed, workflow_hash, backend. */
export function samplesTable(run: Run, tokenCounts?: TokenCountSource): Table {
  const schema = tableSchema("samples", { meta: run.meta, workflow: run.workflow });
  return tableFromRows("samples", sampleRows(run, tokenCounts), schema);
}

/** One row per path segment: run_id, stream, path_id, segment, step_start, step_end, sequence, block, zone, zone_id, repetition, jumped. */
export function pathsTable(run: Run): Table {
  const schema = tableSchema("paths", { meta: run.meta, workflow: run.workflow });
  return tableFromRows("paths", pathRows(run), schema);
}
