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

/**
 * The mime type Jupyter front ends render Vega-Lite specs from. JupyterLab 4's renderer
 * (@jupyterlab/vega5-extension) reads v3, v4 and v5 specs and runs vega-lite 5.6.1; there is
 * no v6 mime type, so the charts are written for Vega-Lite 5 and say so in `$schema`.
 */
export const VEGALITE_MIME = "application/vnd.vegalite.v5+json";

/** The `$schema` every chart declares: the version of the mime type it is sent under. Every
 * chart is also valid Vega-Lite 6, which `renderSvg` compiles it with (test/viz checks both). */
export const VEGALITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

/** A run's id as a chart shows it: a UUID cut to its first 8 characters (the full id is in
 * the spec's `description`); any other id as it is. */
export function shortRunId(runId: string): string {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(runId) ? runId.slice(0, 8) : runId;
}

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

/**
 * What the kernel sends for a chart: the spec as JSON, its SVG once, and its title as text —
 * and no text/html, on purpose. Each front end picks the richest type it renders:
 * - JupyterLab ranks text/html (50) above its Vega renderer (57) above SVG (80), so an HTML
 *   copy would win and the chart would be a static picture; without it Lab draws the spec
 *   itself, with tooltips and the "…" actions menu (test/viz/frontends.test.ts).
 * - Classic Notebook 6 has no Vega-Lite renderer and shows the SVG.
 * - nbconvert's HTML export shows the SVG; Debian 12's nbconvert 6.5 empties inline SVG, so
 *   export with `--template-file viz/nbconvert/forge.html.j2` there (README, Notebooks).
 */
export async function chartBundle(spec: TopLevelSpec): Promise<MimeBundle> {
  return {
    [VEGALITE_MIME]: toPlainJson(spec),
    "image/svg+xml": await renderSvg(spec),
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
