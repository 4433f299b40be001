/**
 * Rendering and display: Vega-Lite spec → Vega → SVG through vega's headless View, and the
 * mime bundle the notebook kernel shows.
 *
 * vega and vega-lite v6 are ESM with top-level await: they must be loaded with ESM
 * `import` (a `require()` fails with ERR_REQUIRE_ASYNC_MODULE), which is why the kernel
 * loads this module through its own `import`.
 */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { mimeBundle, type Displayable, type MimeBundle } from "../forge/display.js";

/** The mime type Jupyter front ends render Vega-Lite specs from. */
export const VEGALITE_MIME = "application/vnd.vegalite.v5+json";

/** A Vega-Lite spec that is also displayable in the kernel. It stays a plain spec:
 * the display method is a non-enumerable symbol key, invisible to JSON and schemas. */
export type ChartSpec = TopLevelSpec & Displayable;

/** One view inside a concatenation (vega-lite does not export the name). */
export type ViewSpec = Extract<TopLevelSpec, { vconcat: unknown }>["vconcat"][number];

/** Compile a Vega-Lite spec and render it to an SVG string, headless. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(toPlainJson(spec)).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The spec's title as one line of text ("title — subtitle"). */
export function chartTitle(spec: TopLevelSpec): string {
  const title = spec.title;
  if (title === undefined) return "Vega-Lite chart";
  if (typeof title === "string") return title;
  if (Array.isArray(title)) return title.join(" ");
  const text = Array.isArray(title.text) ? title.text.join(" ") : String(title.text);
  const subtitle = title.subtitle === undefined ? "" : Array.isArray(title.subtitle) ? title.subtitle.join(" ") : String(title.subtitle);
  return subtitle === "" ? text : `${text} — ${subtitle}`;
}

/** What the kernel sends for a chart: the spec as JSON, its SVG, and its title as text. */
export async function chartBundle(spec: TopLevelSpec): Promise<MimeBundle> {
  const svg = await renderSvg(spec);
  return {
    [VEGALITE_MIME]: toPlainJson(spec),
    "image/svg+xml": svg,
    // Exported HTML: nbconvert passes image/svg+xml through lxml's clean_html, which strips
    // every SVG element, but prefers text/html and keeps it as is — so the chart stays drawn.
    "text/html": `<div class="forge-chart">${svg}</div>`,
    "text/plain": chartTitle(spec),
  };
}

/** Make a spec displayable in the kernel (adds the display method; returns the same object). */
export function asDisplayable<S extends TopLevelSpec>(spec: S): S & Displayable {
  Object.defineProperty(spec, mimeBundle, {
    value: () => chartBundle(spec),
    enumerable: false,
    configurable: true,
  });
  return spec as S & Displayable;
}

/** A deep copy of the spec as plain JSON (drops the display method and any undefined). */
export function toPlainJson(spec: TopLevelSpec): TopLevelSpec {
  return JSON.parse(JSON.stringify(spec)) as TopLevelSpec;
}
