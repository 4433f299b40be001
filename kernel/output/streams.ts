/**
 * stdout / stderr capture: `process.stdout.write` and `process.stderr.write` are redirected to
 * iopub stream messages of the current cell. The kernel's own log keeps the original stderr.
 */
export type StreamName = "stdout" | "stderr";
type Write = typeof process.stdout.write;

export interface StreamCapture {
  /** Write to the real stderr (the kernel's log), bypassing the capture. */
  log(text: string): void;
  restore(): void;
}

export function captureStreams(onText: (name: StreamName, text: string) => void): StreamCapture {
  const originals: Record<StreamName, Write> = {
    stdout: process.stdout.write.bind(process.stdout),
    stderr: process.stderr.write.bind(process.stderr),
  };
  for (const name of ["stdout", "stderr"] as const) {
    const replacement = (chunk: unknown, encoding?: unknown, callback?: unknown): boolean => {
      const text = typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString(typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8");
      onText(name, text);
      const done = typeof encoding === "function" ? encoding : callback;
      if (typeof done === "function") queueMicrotask(() => (done as () => void)());
      return true;
    };
    process[name].write = replacement as Write;
  }
  return {
    log: (text) => void originals.stderr(text.endsWith("\n") ? text : text + "\n"),
    restore: () => {
      process.stdout.write = originals.stdout;
      process.stderr.write = originals.stderr;
    },
  };
}
