/**
 * Test helpers: read what vega drew in an SVG, and validate specs against the Vega-Lite
 * JSON schema shipped in the vega-lite package (with ajv, present as a dependency of fastify).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
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

let validator: ValidateFunction | null = null;

/** Schema errors of a spec (empty when valid), against vega-lite's own JSON schema. */
export function schemaErrors(spec: TopLevelSpec): string[] {
  if (!validator) {
    const require = createRequire(import.meta.url);
    const schemaPath = require.resolve("vega-lite/vega-lite-schema.json");
    const schema = JSON.parse(readFileSync(schemaPath, "utf8")) as object;
    validator = new Ajv({ strict: false, allowUnionTypes: true, validateFormats: false }).compile(schema);
  }
  if (validator(toPlainJson(spec))) return [];
  return (validator.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}
