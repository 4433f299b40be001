/**
 * `exportRun`: a run's samples and paths tables, in each asked format, into a folder —
 * what the README's main command and the agents' `datasets.export` built-in call.
 * Each file is written by a RunExportWriter, so memory stays bounded for large runs.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Run } from "../forge/run/index.js";
import { DatasetError } from "./errors.js";
import { checkRunShape, type TokenCountSource } from "./rows.js";
import type { TableKind } from "./schema.js";
import { EXPORT_FORMATS, RunExportWriter, type ExportFormat } from "./writers.js";

export interface ExportRunOptions {
  dir: string;
  /** Default: all three. */
  formats?: readonly ExportFormat[];
  /** File name stem (default: the run id, unsafe characters replaced by `_`). */
  name?: string;
  tokenCounts?: TokenCountSource;
  batchRows?: number;
}

export interface ExportedRun {
  /** format → file, per table; e.g. files.samples.arrow = "out/r1.samples.arrow". */
  files: Record<TableKind, Partial<Record<ExportFormat, string>>>;
  rows: Record<TableKind, number>;
}

export async function exportRun(run: Run, options: ExportRunOptions): Promise<ExportedRun> {
  const formats = options.formats ?? EXPORT_FORMATS;
  if (formats.length === 0) throw new DatasetError("exportRun", `formats is empty (expected some of ${EXPORT_FORMATS.join(", ")})`);
  for (const format of formats) {
    if (!EXPORT_FORMATS.includes(format)) {
      throw new DatasetError("exportRun", `unknown format "${String(format)}" (expected one of ${EXPORT_FORMATS.join(", ")})`);
    }
  }
  if (typeof options.dir !== "string" || options.dir === "") throw new DatasetError("exportRun", "dir is required");
  checkRunShape(run); // before any file is created
  try {
    mkdirSync(options.dir, { recursive: true });
  } catch (error) {
    throw new DatasetError(options.dir, `cannot create the export folder: ${(error as Error).message}`);
  }
  const stem = (options.name ?? run.meta.runId).replace(/[^A-Za-z0-9._-]/g, "_");
  const result: ExportedRun = { files: { samples: {}, paths: {} }, rows: { samples: 0, paths: 0 } };
  for (const table of ["samples", "paths"] as const) {
    for (const format of [...new Set(formats)]) {
      const path = join(options.dir, `${stem}.${table}.${format}`);
      const writer = RunExportWriter.open(path, {
        table,
        format,
        meta: run.meta,
        workflow: run.workflow,
        batchRows: options.batchRows,
      });
      try {
        await writer.appendRun(run, options.tokenCounts);
      } finally {
        const written = await writer.close();
        result.rows[table] = written.rows;
      }
      result.files[table][format] = path;
    }
  }
  return result;
}
