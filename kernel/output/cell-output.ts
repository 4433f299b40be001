/**
 * Where a cell's output goes: one CellOutput per execute_request, publishing on iopub with
 * that request as parent. Output that is produced asynchronously (a display whose bundle is a
 * Promise) is tracked so the kernel can wait for it before it reports the cell idle.
 */
import { randomUUID } from "node:crypto";
import type { MimeBundle } from "../../forge/display.js";
import type { DisplayHandle, DisplayOptions } from "./cell-api.js";
import { mimeBundleOf, type SvgRenderer } from "./mime.js";

export type Publish = (msgType: string, content: unknown) => void;

const INSPECT = Symbol.for("nodejs.util.inspect.custom");

/**
 * What `display(…)` returns. A cell whose last expression is one (`display.markdown("…")`)
 * shows no execute_result: the display is the output, as with IPython's display(), which
 * returns None. Printed (console.log), it is one short line, not `{ displayId, update: [Function] }`.
 */
export class DisplayHandleImpl implements DisplayHandle {
  constructor(
    readonly displayId: string,
    private readonly updater: (value: unknown) => void,
  ) {}

  update(value: unknown): void {
    this.updater(value);
  }

  toString(): string {
    return `DisplayHandle ${this.displayId} (handle.update(value) replaces that output)`;
  }

  [INSPECT](): string {
    return this.toString();
  }
}

export function isDisplayHandle(value: unknown): value is DisplayHandleImpl {
  return value instanceof DisplayHandleImpl;
}

/**
 * Characters of stdout/stderr text one cell may publish. A cell that printed 100 MB sent it
 * as one iopub message (16 s through the kernel; a notebook front-end stalls on far less, and
 * the .ipynb keeps it); past the bound the rest is counted and a notice says so once.
 */
export const MAX_CELL_STREAM_CHARS = 16 * 1024 * 1024;

export class CellOutput {
  private readonly pending = new Set<Promise<void>>();
  /** Stream characters published so far, and those left out past MAX_CELL_STREAM_CHARS. */
  private streamed = 0;
  private leftOut = 0;

  constructor(
    private readonly publish: Publish,
    private readonly svgRenderer: () => SvgRenderer | null,
    /** Where failures of asynchronous output go (a display whose bundle rejected): the kernel's own report, sent past the bound too. */
    private readonly reportError: (text: string) => void = (text) => this.stream("stderr", text, true),
  ) {}

  /** Publishes stream text; `always` (the kernel's own reports, e.g. a stray error) is sent past the bound too. */
  stream(name: "stdout" | "stderr", text: string, always = false): void {
    if (text === "") return;
    if (always) return this.publish("stream", { name, text });
    const room = MAX_CELL_STREAM_CHARS - this.streamed;
    if (room <= 0) {
      this.leftOut += text.length;
      return;
    }
    const shown = text.length > room ? text.slice(0, room) : text;
    this.streamed += shown.length;
    this.publish("stream", { name, text: shown });
    if (shown.length < text.length) {
      this.leftOut += text.length - shown.length;
      this.publish("stream", {
        name: "stderr",
        text: `\n[output cut: this cell printed more than MAX_CELL_STREAM_CHARS = ${MAX_CELL_STREAM_CHARS} characters; the rest is not shown. Write large results to a file, or show a summary]\n`,
      });
    }
  }

  /** Stream characters left out past MAX_CELL_STREAM_CHARS so far. */
  get charactersLeftOut(): number {
    return this.leftOut;
  }

  /** Show a value or a promise of a bundle; returns at once with the display's handle. */
  display(value: unknown, options: DisplayOptions = {}, asBundle = false): DisplayHandle {
    const displayId = options.displayId ?? randomUUID();
    this.sendWhenReady(value, asBundle, (bundle) =>
      this.publish("display_data", { data: bundle, metadata: options.metadata ?? {}, transient: { display_id: displayId } }),
    );
    return new DisplayHandleImpl(displayId, (next) => this.update(displayId, next));
  }

  update(displayId: string, value: unknown, asBundle = false): void {
    this.sendWhenReady(value, asBundle, (bundle) =>
      this.publish("update_display_data", { data: bundle, metadata: {}, transient: { display_id: displayId } }),
    );
  }

  clear(wait = false): void {
    this.publish("clear_output", { wait });
  }

  /** The execute_result of the cell's last expression. */
  async result(value: unknown, executionCount: number): Promise<void> {
    const data = await mimeBundleOf(value, this.svgRenderer());
    this.publish("execute_result", { execution_count: executionCount, data, metadata: {} });
  }

  /** Resolves once every asynchronous display started so far has been sent. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private sendWhenReady(value: unknown, asBundle: boolean, send: (bundle: MimeBundle) => void): void {
    const bundle = asBundle ? Promise.resolve(value as MimeBundle) : mimeBundleOf(value, this.svgRenderer());
    const done = bundle.then(send, (e: Error) => this.reportError(`display failed: ${e?.message ?? String(e)}\n`));
    this.pending.add(done);
    void done.finally(() => this.pending.delete(done));
  }
}
