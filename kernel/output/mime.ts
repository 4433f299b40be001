/** Turning a cell value into a MIME bundle for execute_result / display_data. */
import { inspect } from "node:util";
import { isDisplayable, mimeBundle, type MimeBundle } from "../../forge/display.js";

export const VEGALITE_MIME = "application/vnd.vegalite.v5+json";

/** An SVG renderer for Vega-Lite specs, when `viz` offers one. */
export type SvgRenderer = (spec: Record<string, unknown>) => Promise<string> | string;

export function textPlain(value: unknown): string {
  return typeof value === "string" ? inspect(value) : inspect(value, { depth: 4, breakLength: 100, maxArrayLength: 50 });
}

export function isVegaLiteSpec(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const schema = (value as Record<string, unknown>).$schema;
  return typeof schema === "string" && schema.includes("vega-lite");
}

export async function vegaLiteBundle(spec: Record<string, unknown>, renderSvg: SvgRenderer | null): Promise<MimeBundle> {
  const bundle: MimeBundle = { [VEGALITE_MIME]: spec, "text/plain": "<Vega-Lite chart>" };
  if (renderSvg) bundle["image/svg+xml"] = await renderSvg(spec);
  return bundle;
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
