/**
 * stdout / stderr capture: `process.stdout.write` and `process.stderr.write` are redirected to
 * iopub stream messages of the current cell. The kernel's own log keeps the original stderr.
 *
 * The library writes its informational lines (`forge: tfjs backend wasm`, `forge: engine
 * onnxruntime (2 threads)`) to stderr, where a command line wants them, away from its data on
 * stdout. A notebook draws stderr as a red error box, so in a cell those lines go to stdout.
 */
export type StreamName = "stdout" | "stderr";
type Write = typeof process.stdout.write;

export interface StreamCapture {
  /** Write to the real stderr (the kernel's log), bypassing the capture. */
  log(text: string): void;
  restore(): void;
}

/** A line the library writes to say what it chose, not that something failed. */
const INFORMATIONAL = /^forge: (?!.*\b(?:error|failed|cannot|could not)\b)/i;

/** Whether a chunk written to stderr holds only the library's informational lines. */
export function isInformational(text: string): boolean {
  const lines = text.split("\n").filter((line) => line !== "");
  return lines.length > 0 && lines.every((line) => INFORMATIONAL.test(line));
}

export function captureStreams(onText: (name: StreamName, text: string) => void): StreamCapture {
  const originals: Record<StreamName, Write> = {
    stdout: process.stdout.write.bind(process.stdout),
    stderr: process.stderr.write.bind(process.stderr),
  };
  for (const name of ["stdout", "stderr"] as const) {
    const replacement = (chunk: unknown, encoding?: unknown, callback?: unknown): boolean => {
      const text = typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString(typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8");
      onText(name === "stderr" && isInformational(text) ? "stdout" : name, text);
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
