/**
 * Reading back what we (or pyarrow, polars, …) wrote: IPC file or stream, told apart by
 * apache-arrow from the bytes themselves.
 */
import { readFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { RecordBatchReader, tableFromIPC, type RecordBatch, type Table } from "apache-arrow";
import { DatasetError } from "./errors.js";
import { withDisplay } from "./preview.js";

/** A whole Arrow IPC file or stream, from a path or the bytes. */
export function readArrow(source: string | Uint8Array): Table {
  const where = typeof source === "string" ? source : "Arrow bytes";
  let bytes: Uint8Array;
  if (typeof source === "string") {
    try {
      bytes = readFileSync(source);
    } catch (error) {
      throw new DatasetError(where, `cannot read: ${(error as Error).message}`);
    }
  } else {
    bytes = source;
  }
  if (bytes.byteLength === 0) throw new DatasetError(where, "is empty, not an Arrow IPC file or stream");
  try {
    return withDisplay(tableFromIPC(bytes));
  } catch (error) {
    throw new DatasetError(where, `is not a readable Arrow IPC file or stream (${(error as Error).message})`);
  }
}

/**
 * The record batches of an Arrow IPC file or stream, read from disk one at a time: for
 * files too large to hold whole. Each batch carries the file's schema (and metadata).
 */
export async function* readArrowBatches(path: string): AsyncGenerator<RecordBatch> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    throw new DatasetError(path, `cannot read: ${(error as Error).message}`);
  }
  const stream = handle.createReadStream();
  try {
    let reader;
    try {
      reader = await RecordBatchReader.from(stream);
      await reader.open();
    } catch (error) {
      throw new DatasetError(path, `is not a readable Arrow IPC file or stream (${(error as Error).message})`);
    }
    if (!reader.schema) throw new DatasetError(path, "is not a readable Arrow IPC file or stream (no schema)");
    for await (const batch of reader) yield batch;
  } finally {
    stream.destroy();
    await handle.close().catch(() => {});
  }
}
