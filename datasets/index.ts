/**
 * Datasets: a run's samples and branch paths as Arrow tables (explicit schemas, run
 * metadata in the schema metadata), written as Arrow IPC file / stream or JSON Lines —
 * whole tables, or streamed batch by batch for large runs — and read back.
 *
 *   rows.ts     Run → SampleRow / PathRow (path ids, token counts)
 *   schema.ts   the two schemas and their metadata
 *   batches.ts  rows → checked record batches
 *   tables.ts   samplesTable / pathsTable (in memory)
 *   writers.ts  writeArrowFile / writeArrowStream / writeJsonl / exportTable / RunExportWriter
 *   export.ts   exportRun (both tables, all formats, one folder)
 *   instruments.ts  tokensTable / decisionsTable (per-token logprobs, decisions at jump sites)
 *   read.ts     readArrow / readArrowBatches
 *   preview.ts  preview (notebook display)
 */
import { registerResultTables } from "../forge/index.js";
import { pathsTable, samplesTable } from "./tables.js";
import { decisionsTable, tokensTable } from "./instruments.js";

// The Forge HTTP server serves these tables (GET /jobs/{id}/result.arrow) in any process that loads this layer.
registerResultTables({ samples: samplesTable, paths: pathsTable, tokens: (run, tokenizer) => tokensTable(run, { tokenizer }), decisions: decisionsTable });

export { DatasetError } from "./errors.js";
export {
  DATASET_VERSION,
  pathsSchema,
  readDatasetMetadata,
  samplesSchema,
  schemaMetadata,
  tableSchema,
  type DatasetMetadata,
  type PathRow,
  type ReadMetadata,
  type RowOf,
  type SampleRow,
  type TableKind,
} from "./schema.js";
export { checkRunShape, extractionNames, pathId, pathRows, sampleRows, type TokenCountSource } from "./rows.js";
export { BatchBuilder, recordBatchFromRows } from "./batches.js";
export { DEFAULT_BATCH_ROWS, pathsTable, samplesTable, tableFromRows } from "./tables.js";
export {
  EXPORT_FORMATS,
  exportTable,
  formatOfPath,
  RunExportWriter,
  writeArrowFile,
  writeArrowStream,
  writeJsonl,
  type ExportFormat,
  type RunExportWriterOptions,
  type WriteResult,
  type WriteTarget,
} from "./writers.js";
export { exportRun, type ExportedRun, type ExportRunOptions } from "./export.js";
export { decisionsTable, tokensTable, MAX_TOKEN_TABLE_ROWS } from "./instruments.js";
export { readArrow, readArrowBatches } from "./read.js";
export { preview, previewHtml, tableSummary, withDisplay, type PreviewOptions, type TablePreview } from "./preview.js";
