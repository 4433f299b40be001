/**
 * Values on the tape are JSON with a few tagged types so that a resumed run gets back
 * exactly what the first run produced: Arrow tables (as IPC bytes), bigints, byte arrays.
 */
import { Table, tableFromIPC, tableToIPC } from "apache-arrow";

function toJsonable(value: unknown): unknown {
  if (value === null || typeof value !== "object") {
    if (typeof value === "bigint") return { $bigint: value.toString() };
    return value;
  }
  if (value instanceof Table) return { $arrow: Buffer.from(tableToIPC(value, "stream")).toString("base64") };
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString("base64") };
  if (Array.isArray(value)) return value.map(toJsonable);
  if (value instanceof Date) return value.toISOString();
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = toJsonable(v);
  return out;
}

export function encodeValue(value: unknown): string {
  return JSON.stringify(toJsonable(value) ?? null);
}

export function decodeValue(text: string | null): unknown {
  if (text === null) return undefined;
  return JSON.parse(text, (_key, v: unknown) => {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (typeof o.$arrow === "string") return tableFromIPC(Buffer.from(o.$arrow, "base64"));
      if (typeof o.$bigint === "string") return BigInt(o.$bigint);
      if (typeof o.$bytes === "string") return new Uint8Array(Buffer.from(o.$bytes, "base64"));
    }
    return v;
  });
}
