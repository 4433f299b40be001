/**
 * The independent reader: nodejs-polars (Rust arrow2/polars IPC and NDJSON readers, with
 * its platform package nodejs-polars-linux-x64-gnu). Files are handed over as Buffers,
 * which is how polars reads IPC reliably.
 */
import { readFileSync } from "node:fs";
import pl from "nodejs-polars";

export interface Frame {
  dtypes: string[];
  columns: string[];
  rows: Record<string, unknown>[];
}

const frame = (df: pl.DataFrame): Frame => ({
  dtypes: df.dtypes.map((d) => d.variant),
  columns: df.columns,
  rows: df.toRecords() as Record<string, unknown>[],
});

export const polarsReadIpcFile = (path: string): Frame => frame(pl.readIPC(readFileSync(path)));
export const polarsReadIpcStream = (bytes: Buffer): Frame => frame(pl.readIPCStream(bytes));
export const polarsReadJsonl = (path: string): Frame => frame(pl.readJSON(readFileSync(path), { format: "lines" }));
