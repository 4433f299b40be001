/**
 * Test helpers: read what vega drew in an SVG, and validate specs against the Vega-Lite
 * JSON schemas: v6 shipped in the vega-lite package, v5 vendored in fixtures/ (with ajv).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { gunzipSync } from "node:zlib";
import { Ajv, type ValidateFunction } from "ajv";
import type { TopLevelSpec } from "vega-lite";
import { toPlainJson } from "../../viz/index.js";

/** The body of the group vega renders for the named Vega-Lite layer/unit (`<name>_marks`). */
function markGroup(svg: string, name: string): string | null {
  const open = new RegExp(`<g class="mark-[a-z]+ role-mark ${name}_marks"[^>]*>`).exec(svg);
  if (!open) return null;
  // Mark items are flat inside the group: it ends at the first "</g>" after them.
  const start = open.index + open[0].length;
  return svg.slice(start, svg.indexOf("</g>", start));
}

/** Number of mark items (bars, points, texts) vega drew for a named layer; -1 if absent. */
export function markCount(svg: string, name: string): number {
  const body = markGroup(svg, name);
  if (body === null) return -1;
  return (body.match(/role="graphics-symbol"/g) ?? []).length;
}

/** The text items of a named text layer, lines joined with "\n", entities decoded. */
export function markTexts(svg: string, name: string): string[] {
  const body = markGroup(svg, name) ?? "";
  return [...body.matchAll(/<text[^>]*>(.*?)<\/text>/g)].map((m) =>
    decode(
      m[1]!
        .split(/<tspan[^>]*>/)
        .map((line) => line.replace(/<\/tspan>/g, ""))
        .filter((line) => line !== "")
        .join("\n"),
    ),
  );
}

/** Every text drawn anywhere (titles, axes, legends, labels). */
export function allTexts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>(.*?)<\/text>/g)].map((m) => decode(m[1]!.replace(/<[^>]+>/g, " ").trim()));
}

function decode(text: string): string {
  return text
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#x27;/g, "'")
    .replace(/&amp;/g, "&");
}

const validators = new Map<"v5" | "v6", ValidateFunction>();

/** Vega-Lite's JSON schema: v6 from the installed vega-lite, v5 (5.6.1, what JupyterLab 4
 * renders the v5 mime type with) from the vendored fixture. */
function validator(version: "v5" | "v6"): ValidateFunction {
  let validate = validators.get(version);
  if (!validate) {
    const text =
      version === "v6"
        ? readFileSync(createRequire(import.meta.url).resolve("vega-lite/vega-lite-schema.json"), "utf8")
        : gunzipSync(readFileSync(new URL("./fixtures/vega-lite-5.6.1-schema.json.gz", import.meta.url))).toString("utf8");
    validate = new Ajv({ strict: false, allowUnionTypes: true, validateFormats: false }).compile(JSON.parse(text) as object);
    validators.set(version, validate);
  }
  return validate;
}

/** Schema errors of a spec (empty when valid), against vega-lite's own JSON schema of that version. */
export function schemaErrors(spec: TopLevelSpec, version: "v5" | "v6" = "v6"): string[] {
  const validate = validator(version);
  if (validate(toPlainJson(spec))) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

/** The drawn labels of the x axis with this title (vega's aria-label names it), with their x position. */
export function axisLabels(svg: string, axisTitle: string): { text: string; x: number }[] {
  const start = svg.indexOf(`aria-label="X-axis titled '${axisTitle}'`);
  if (start < 0) return [];
  const open = svg.indexOf('class="mark-text role-axis-label"', start);
  const body = svg.slice(open, svg.indexOf("</g>", open));
  // Labels vega hid (opacity 0, its overlap removal) are not drawn.
  return [...body.matchAll(/<text[^>]*transform="translate\(([-\d.]+),[-\d.]+\)[^"]*"[^>]*opacity="([\d.]+)"[^>]*>(.*?)<\/text>/g)]
    .filter((m) => Number(m[2]) > 0)
    .map((m) => ({ text: decode(m[3]!), x: Number(m[1]) }));
}
