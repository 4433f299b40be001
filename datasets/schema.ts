/**
 * The two dataset tables and their explicit Arrow schemas.
 *
 * Column names are snake_case, as pandas / pyarrow / Hugging Face users expect; a row is a
 * plain object keyed by column name, so the same object goes to Arrow and to JSON Lines.
 * The run's metadata rides in the schema metadata: one key per `RunMetadata` field, each
 * value JSON-encoded (`seed` → `"42"`, `runId` → `"\"r1\""`), plus `forge.*` bookkeeping.
 */
import { Bool, Field, Int32, Int64, Schema, Utf8, type DataType } from "apache-arrow";
import type { RunMetadata, StreamStatus } from "../forge/run/index.js";
import type { SzcpWorkflow } from "../forge/index.js";
import { DatasetError } from "./errors.js";

/** Which table a schema describes; also written to the `forge.table` metadata key. */
export type TableKind = "samples" | "paths";

/** Version of the column layout below, written to `forge.version`. */
export const DATASET_VERSION = 1;

/** One extraction of one stream: a training sample. */
export interface SampleRow {
  run_id: string;
  /** The stream's workflow instance (`StreamTrace.instance`). */
  stream: number;
  extraction: string;
  text: string;
  /** Tokens of the extraction (see `TokenCountSource`); null when not known. */
  token_count: number | null;
  /** The stream's branch path (see `pathId`); the same id in the paths table. */
  path_id: string;
  status: StreamStatus | null;
  seed: number | bigint;
  workflow_hash: string;
  backend: string;
}

/** One segment of one stream's branch path: a stretch spent in one zone. */
export interface PathRow {
  run_id: string;
  stream: number;
  path_id: string;
  /** Position of the segment in the stream's path (0, 1, …). */
  segment: number;
  /** [step_start, step_end) in the stream's token arrays. */
  step_start: number;
  step_end: number;
  sequence: string;
  block: number;
  zone: number;
  zone_id: number;
  repetition: number;
  /** Left by a jump (taken or forced loop exit) rather than the nominal edge. */
  jumped: boolean;
}

export type RowOf<K extends TableKind> = K extends "samples" ? SampleRow : PathRow;

const samplesFields = (): Field[] => [
  new Field("run_id", new Utf8(), false),
  new Field("stream", new Int32(), false),
  new Field("extraction", new Utf8(), false),
  new Field("text", new Utf8(), false),
  new Field("token_count", new Int32(), true),
  new Field("path_id", new Utf8(), false),
  new Field("status", new Utf8(), true),
  new Field("seed", new Int64(), false),
  new Field("workflow_hash", new Utf8(), false),
  new Field("backend", new Utf8(), false),
];

const pathsFields = (): Field[] => [
  new Field("run_id", new Utf8(), false),
  new Field("stream", new Int32(), false),
  new Field("path_id", new Utf8(), false),
  new Field("segment", new Int32(), false),
  new Field("step_start", new Int32(), false),
  new Field("step_end", new Int32(), false),
  new Field("sequence", new Utf8(), false),
  new Field("block", new Int32(), false),
  new Field("zone", new Int32(), false),
  new Field("zone_id", new Int32(), false),
  new Field("repetition", new Int32(), false),
  new Field("jumped", new Bool(), false),
];

/** What the schema metadata carries besides the table kind. */
export interface DatasetMetadata {
  meta?: RunMetadata;
  /** The SZCP workflow that ran, so a dataset carries its own program. */
  workflow?: SzcpWorkflow;
}

/** The explicit Arrow schema of a table, with the run's metadata attached. */
export function tableSchema(kind: TableKind, metadata: DatasetMetadata = {}): Schema {
  const fields = kind === "samples" ? samplesFields() : pathsFields();
  return new Schema(fields, schemaMetadata(kind, metadata));
}

export const samplesSchema = (metadata?: DatasetMetadata): Schema => tableSchema("samples", metadata);
export const pathsSchema = (metadata?: DatasetMetadata): Schema => tableSchema("paths", metadata);

/** Schema metadata: `forge.table`, `forge.version`, each RunMetadata field as JSON, `forge.workflow`. */
export function schemaMetadata(kind: TableKind, { meta, workflow }: DatasetMetadata): Map<string, string> {
  const entries = new Map<string, string>([
    ["forge.table", kind],
    ["forge.version", String(DATASET_VERSION)],
  ]);
  if (meta) for (const [key, value] of Object.entries(meta)) entries.set(key, JSON.stringify(value));
  if (workflow) entries.set("forge.workflow", JSON.stringify(workflow));
  return entries;
}

/** What `readDatasetMetadata` recovers from a schema written by this module. */
export interface ReadMetadata {
  table: TableKind | null;
  version: number | null;
  /** The RunMetadata fields found (all of them for a file we wrote with a run). */
  meta: Partial<RunMetadata>;
  workflow: SzcpWorkflow | null;
}

/** Decode the schema metadata written by `schemaMetadata` (from our files or anyone's). */
export function readDatasetMetadata(schema: Schema, where = "schema metadata"): ReadMetadata {
  const parse = (key: string, text: string): unknown => {
    try {
      return JSON.parse(text);
    } catch {
      throw new DatasetError(where, `key "${key}" is not JSON: ${text.slice(0, 80)}`);
    }
  };
  const result: ReadMetadata = { table: null, version: null, meta: {}, workflow: null };
  for (const [key, text] of schema.metadata) {
    if (key === "forge.table") result.table = text === "samples" || text === "paths" ? text : null;
    else if (key === "forge.version") result.version = Number(text);
    else if (key === "forge.workflow") result.workflow = parse(key, text) as SzcpWorkflow;
    else if (!key.startsWith("forge.")) (result.meta as Record<string, unknown>)[key] = parse(key, text);
  }
  return result;
}

/** Human-readable type name for messages and previews (`Utf8`, `Int32`, …). */
export const typeName = (type: DataType): string => String(type);
