/**
 * GET /jobs/{id}/result's body, serialized in slices on the server's event loop.
 *
 * A finished run's JSON grows with instances x tokens (x logprobs): a batch-256 run of 1024
 * instances with top-5 logprobs is 24 MB (34 MB with arrays=list), and `JSON.stringify` of it
 * in one piece held the loop 0.3–1.0 s per request (every other request waited; the limits
 * allow 4x that). Here the run is encoded one stream at a time and written through a
 * Readable stream: the text comes out in chunks of about RESULT_CHUNK_CHARS, with a turn of
 * the loop at least every RESULT_SLICE_MS of work, and the socket's backpressure pauses the
 * work (nothing past a chunk is held for a slow client; a client going away stops it).
 * The bytes are those of `JSON.stringify(encodeRun(run, arrays))`.
 */
import { Readable } from "node:stream";
import { encodeRun, type ArrayEncoding } from "../../run/codec.js";
import type { Run } from "../../run/types.js";
import { nextTurn } from "./lane.js";

/** Characters gathered before a chunk goes to the socket. */
export const RESULT_CHUNK_CHARS = 64 * 1024;
/** Most milliseconds of serialization between two turns of the event loop. */
export const RESULT_SLICE_MS = 10;
/** Arrays and plain objects are walked this deep; below it a value is one JSON.stringify (one stream's row, one path). */
const WALK_DEPTH = 3;

/** The run's JSON as a stream of text chunks; see the module comment. */
export function runJsonStream(run: Run, arrays: ArrayEncoding): Readable {
  return Readable.from(runJsonChunks(run, arrays), { objectMode: false, encoding: "utf8" });
}

/** The run's JSON as text chunks, yielding the event loop between slices. */
export async function* runJsonChunks(run: Run, arrays: ArrayEncoding): AsyncGenerator<string> {
  // The skeleton without streams is cheap to encode; each stream is encoded as it is written.
  const wire = encodeRun({ ...run, streams: [] }, arrays) as unknown as Record<string, unknown>;
  const streams = run.streams;
  const encodeStream = (i: number) => encodeRun({ ...run, streams: [streams[i]!] }, arrays).streams[0];
  yield* jsonChunks(wire, (key, depth) => (depth === 1 && key === "streams" ? { length: streams.length, at: encodeStream } : null));
}

/** A lazily produced array: `at(i)` is called once, when element i is written. */
interface LazyArray {
  length: number;
  at: (i: number) => unknown;
}

/**
 * JSON text of `value` (plain data, as JSON.stringify writes it), in chunks, with a turn of
 * the event loop every RESULT_SLICE_MS. `lazy(key, depth)` may replace a property by a lazy array.
 */
export async function* jsonChunks(value: unknown, lazy: (key: string, depth: number) => LazyArray | null = () => null): AsyncGenerator<string> {
  let pending: string[] = [];
  let pendingChars = 0;
  let sliceStart = performance.now();
  const out = (text: string) => {
    pending.push(text);
    pendingChars += text.length;
  };
  // Called between elements: hands over a full chunk, and gives the loop a turn when the slice is spent.
  async function* boundary(): AsyncGenerator<string> {
    if (pendingChars >= RESULT_CHUNK_CHARS) {
      const chunk = pending.join("");
      pending = [];
      pendingChars = 0;
      yield chunk;
    }
    if (performance.now() - sliceStart >= RESULT_SLICE_MS) {
      await nextTurn();
      sliceStart = performance.now();
    }
  }
  async function* walk(v: unknown, depth: number): AsyncGenerator<string> {
    if (depth >= WALK_DEPTH || v === null || typeof v !== "object" || !isWalkable(v)) {
      out(JSON.stringify(v) ?? "null"); // undefined / functions only reach here as array elements
      return;
    }
    if (Array.isArray(v)) {
      out("[");
      for (let i = 0; i < v.length; i++) {
        if (i > 0) out(",");
        yield* walk(v[i], depth + 1);
        yield* boundary();
      }
      out("]");
      return;
    }
    out("{");
    let first = true;
    for (const key of Object.keys(v)) {
      const replacement = lazy(key, depth + 1);
      const child = (v as Record<string, unknown>)[key];
      if (!replacement && (child === undefined || typeof child === "function" || typeof child === "symbol")) continue;
      out(`${first ? "" : ","}${JSON.stringify(key)}:`);
      first = false;
      if (replacement) {
        out("[");
        for (let i = 0; i < replacement.length; i++) {
          if (i > 0) out(",");
          yield* walk(replacement.at(i), depth + 2);
          yield* boundary();
        }
        out("]");
      } else yield* walk(child, depth + 1);
      yield* boundary();
    }
    out("}");
  }
  yield* walk(value, 0);
  if (pendingChars > 0) yield pending.join("");
}

/** Plain arrays and objects (no toJSON, no class instance) are walked; anything else is left to JSON.stringify. */
function isWalkable(v: object): boolean {
  if (Array.isArray(v)) return true;
  if (typeof (v as { toJSON?: unknown }).toJSON === "function") return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
