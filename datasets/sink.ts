/**
 * Where written bytes go: a file (written synchronously as they are produced, so nothing
 * piles up in memory) or a caller's Writable (respecting its backpressure).
 *
 * apache-arrow's writers push bytes into an `AsyncByteQueue` that keeps them until someone
 * reads them; `ArrowSinkQueue` is such a queue that hands each chunk to a ByteSink at once,
 * which is what keeps a large export's memory bounded.
 */
import { once } from "node:events";
import { closeSync, openSync, writeSync } from "node:fs";
import type { Writable } from "node:stream";
import { AsyncByteQueue } from "apache-arrow";
import { DatasetError } from "./errors.js";

export interface ByteSink {
  /** Where the bytes go, for messages. */
  readonly label: string;
  /** Path written, when the sink is a file. */
  readonly path?: string;
  bytes: number;
  write(chunk: Uint8Array): void;
  /** Resolves once the destination can take more (a Writable's 'drain'). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface WritableSinkOptions {
  /** End the Writable when the writer closes (default true, as stream.pipeline does). */
  end?: boolean;
}

/** A file opened for writing (truncated); a missing folder or a bad path is a DatasetError. */
export function fileSink(path: string): ByteSink {
  let fd: number;
  try {
    fd = openSync(path, "w");
  } catch (error) {
    throw new DatasetError(path, `cannot open for writing: ${(error as Error).message}`);
  }
  let open = true;
  return {
    label: path,
    path,
    bytes: 0,
    write(chunk) {
      let offset = 0;
      while (offset < chunk.byteLength) offset += writeSync(fd, chunk, offset, chunk.byteLength - offset);
      this.bytes += chunk.byteLength;
    },
    // Writes are synchronous; yielding a macrotask per batch keeps a kernel's interrupt
    // handler (and anything else on the event loop) responsive during a long export.
    flush: () => new Promise<void>((resolve) => setImmediate(resolve)),
    async close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

export function writableSink(stream: Writable, { end = true }: WritableSinkOptions = {}): ByteSink {
  let needsDrain = false;
  let failure: Error | null = null;
  stream.on("error", (error) => (failure = error));
  const check = () => {
    if (failure) throw new DatasetError("output stream", failure.message);
  };
  return {
    label: "output stream",
    bytes: 0,
    write(chunk) {
      check();
      if (!stream.write(chunk)) needsDrain = true;
      this.bytes += chunk.byteLength;
    },
    async flush() {
      check();
      if (needsDrain) {
        needsDrain = false;
        await once(stream, "drain");
      }
    },
    async close() {
      await this.flush();
      if (end) {
        stream.end();
        await once(stream, "finish");
      }
      check();
    },
  };
}

export function toSink(target: string | Writable | ByteSink, options?: WritableSinkOptions): ByteSink {
  if (typeof target === "string") return fileSink(target);
  if ("label" in target && typeof (target as ByteSink).flush === "function") return target as ByteSink;
  return writableSink(target as Writable, options);
}

/** An AsyncByteQueue (what arrow's RecordBatchWriter writes to) that forwards every chunk at once. */
export class ArrowSinkQueue extends AsyncByteQueue {
  constructor(private readonly sink: ByteSink) {
    super();
  }
  override write(value: ArrayBufferView | ArrayBufferLike | Uint8Array | string): void {
    const bytes =
      value instanceof Uint8Array
        ? value
        : typeof value === "string"
          ? new TextEncoder().encode(value)
          : ArrayBuffer.isView(value)
            ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
            : new Uint8Array(value);
    if (bytes.byteLength > 0) this.sink.write(bytes);
  }
}
