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

export class CellOutput {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly publish: Publish,
    private readonly svgRenderer: () => SvgRenderer | null,
    /** Where failures of asynchronous output go (a display whose bundle rejected). */
    private readonly reportError: (text: string) => void = (text) => this.stream("stderr", text),
  ) {}

  stream(name: "stdout" | "stderr", text: string): void {
    if (text !== "") this.publish("stream", { name, text });
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
