/** Turning a cell value into a MIME bundle for execute_result / display_data. */
import { inspect } from "node:util";
import { isDisplayable, mimeBundle, type MimeBundle } from "../../forge/display.js";
import { librarySummary } from "./summaries.js";
import { vegaLite5Errors } from "./vega-lite-v5.js";

/**
 * The only Vega-Lite MIME type JupyterLab renders (its renderer runs vega-lite 5; there is no
 * v6 type). A spec goes under it declaring a schema that renderer reads (v3–v5); viz's charts
 * declare v5 themselves.
 */
export const VEGALITE_MIME = "application/vnd.vegalite.v5+json";
export const VEGALITE_V5_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

/** An SVG renderer for Vega-Lite specs, when `viz` offers one. */
export type SvgRenderer = (spec: Record<string, unknown>) => Promise<string> | string;

/** The text form of a value: library objects (runs, results, sessions, backends) as a short summary, others as util.inspect shows them. */
export function textPlain(value: unknown): string {
  if (typeof value === "string") return inspect(value);
  return librarySummary(value) ?? inspect(value, { depth: 4, breakLength: 100, maxArrayLength: 50 });
}

/** The Vega-Lite major version a spec's `$schema` declares (null: none, or not a vega-lite schema URL). */
export function vegaLiteVersion(spec: Record<string, unknown>): number | null {
  const schema = spec.$schema;
  if (typeof schema !== "string") return null;
  const match = /vega-lite\/v(\d+)(?:\.[\d.]+)?\.json/.exec(schema);
  return match ? Number(match[1]) : null;
}

/**
 * The spec as the v5 MIME type carries it: plain JSON, declaring a schema the v5 renderer
 * reads. A spec declaring Vega-Lite 6 (or later, or none) is sent declaring v5 when it is
 * valid Vega-Lite 5 (most are: the spec language barely changed); one that uses what only
 * Vega-Lite 6 has (the `time` channel …) is not sent under that type at all: null, with why.
 * v3–v5 specs go as they are (the renderer reads them).
 */
export function specForV5Mime(spec: Record<string, unknown>): { spec: Record<string, unknown> } | { spec: null; errors: string[] } {
  const plain = JSON.parse(JSON.stringify(spec)) as Record<string, unknown>;
  const version = vegaLiteVersion(plain);
  if (version !== null && version <= 5) return { spec: plain };
  plain.$schema = VEGALITE_V5_SCHEMA;
  const errors = vegaLite5Errors(plain);
  return errors === null || errors.length === 0 ? { spec: plain } : { spec: null, errors };
}

export function isVegaLiteSpec(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const schema = (value as Record<string, unknown>).$schema;
  return typeof schema === "string" && schema.includes("vega-lite");
}

export async function vegaLiteBundle(spec: Record<string, unknown>, renderSvg: SvgRenderer | null): Promise<MimeBundle> {
  const v5 = specForV5Mime(spec);
  const bundle: MimeBundle = { "text/plain": chartText(spec) };
  if (v5.spec) bundle[VEGALITE_MIME] = v5.spec;
  else {
    // Not valid under the only Vega-Lite type Lab renders: the SVG (drawn by vega-lite 6) is the chart.
    bundle["text/plain"] += ` (uses Vega-Lite 6 features that JupyterLab's Vega-Lite 5 renderer lacks, so it is shown as a picture: ${v5.errors.join("; ")})`;
  }
  if (renderSvg) bundle["image/svg+xml"] = await renderSvg(spec);
  return bundle;
}

/** A chart's text form: its title, else "Vega-Lite chart". */
function chartText(spec: Record<string, unknown>): string {
  const title = spec.title;
  const text = typeof title === "string" ? title : typeof title === "object" && title !== null && typeof (title as { text?: unknown }).text === "string" ? (title as { text: string }).text : "";
  return text ? `Vega-Lite chart: ${text}` : "Vega-Lite chart";
}

/** The richest bundle for a value; always has text/plain. */
export async function mimeBundleOf(value: unknown, renderSvg: SvgRenderer | null): Promise<MimeBundle> {
  if (isDisplayable(value)) {
    const bundle: MimeBundle = { ...(await value[mimeBundle]()) };
    if (typeof bundle["text/plain"] !== "string") bundle["text/plain"] = textPlain(value);
    return bundle;
  }
  if (isVegaLiteSpec(value)) return vegaLiteBundle(value, renderSvg);
  return { "text/plain": textPlain(value) };
}
