/**
 * The display helpers installed as globals for cells. They write to whichever cell is the
 * current output target (the running cell, or the last one when output arrives later).
 */
import type { DisplayFunction, DisplayOptions, MimeBundle } from "./cell-api.js";
import type { CellOutput } from "./cell-output.js";
import { VEGALITE_MIME, vegaLiteBundle, type SvgRenderer } from "./mime.js";

export interface OutputTarget {
  current(): CellOutput;
  svgRenderer(): SvgRenderer | null;
}

export function makeDisplayFunction(target: OutputTarget): DisplayFunction {
  const showBundle = (bundle: MimeBundle | Promise<MimeBundle>, options?: DisplayOptions) =>
    target.current().display(bundle, options, true);
  const display = ((value: unknown, options?: DisplayOptions) => target.current().display(value, options)) as DisplayFunction;
  display.html = (html, options) => showBundle({ "text/html": html, "text/plain": "<HTML>" }, options);
  display.markdown = (markdown, options) => showBundle({ "text/markdown": markdown, "text/plain": markdown }, options);
  display.svg = (svg, options) => showBundle({ "image/svg+xml": svg, "text/plain": "<SVG>" }, options);
  display.vegalite = (spec, options) => showBundle(vegaLiteBundle(spec, target.svgRenderer()), options);
  display.json = (value, options) =>
    showBundle({ "application/json": value as never, "text/plain": JSON.stringify(value, null, 2) }, options);
  display.bundle = (bundle, options) => showBundle(bundle, options);
  return display;
}

export function installDisplayGlobals(target: OutputTarget, globals: Record<string, unknown> = globalThis as Record<string, unknown>): void {
  globals.display = makeDisplayFunction(target);
  globals.clearOutput = (wait?: boolean) => target.current().clear(wait ?? false);
  globals.updateDisplay = (displayId: string, value: unknown) => target.current().update(displayId, value);
}

export { VEGALITE_MIME };
