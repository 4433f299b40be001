/**
 * Types of the display helpers cells see as globals (`display`, `clearOutput`, `updateDisplay`).
 * Kept free of imports: tslab's type checker loads this file for the cell prelude.
 */
export type MimeBundle = Record<string, unknown>;

export interface DisplayHandle {
  /** The display id: `updateDisplay(id, value)` or `handle.update(value)` replaces the output in place. */
  readonly displayId: string;
  update(value: unknown): void;
}

export interface DisplayOptions {
  displayId?: string;
  metadata?: Record<string, unknown>;
}

export interface DisplayFunction {
  /** Show any value: a Displayable's own bundle, a Vega-Lite spec as a chart, else its text form. */
  (value: unknown, options?: DisplayOptions): DisplayHandle;
  html(html: string, options?: DisplayOptions): DisplayHandle;
  markdown(markdown: string, options?: DisplayOptions): DisplayHandle;
  svg(svg: string, options?: DisplayOptions): DisplayHandle;
  /** A Vega-Lite spec as `application/vnd.vegalite.v5+json` (plus SVG when `viz.renderSvg` exists); a spec declaring v6 goes declaring v5, the version that type carries. */
  vegalite(spec: Record<string, unknown>, options?: DisplayOptions): DisplayHandle;
  json(value: unknown, options?: DisplayOptions): DisplayHandle;
  /** A ready MIME bundle, e.g. `{ "text/plain": "…", "text/html": "…" }`. */
  bundle(bundle: MimeBundle, options?: DisplayOptions): DisplayHandle;
}
