/**
 * Is a spec valid Vega-Lite 5, the version JupyterLab's renderer (vega-lite 5.6.1) reads
 * under `application/vnd.vegalite.v5+json`? Checked against vega-lite 5.6.1's JSON schema
 * (vendor/), with ajv, compiled once on first use (a second or so: only a spec that declares
 * Vega-Lite 6 needs it; viz's charts declare v5 and are validated in test/viz).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { gunzipSync } from "node:zlib";

type Validate = ((data: unknown) => boolean) & { errors?: { instancePath: string; message?: string }[] | null };

let validator: Validate | null | undefined;

function load(): Validate | null {
  if (validator !== undefined) return validator;
  try {
    const Ajv = createRequire(import.meta.url)("ajv") as { default?: new (o: object) => { compile(s: object): Validate } } & (new (o: object) => { compile(s: object): Validate });
    const AjvClass = Ajv.default ?? Ajv;
    const schema = JSON.parse(gunzipSync(readFileSync(new URL("./vendor/vega-lite-5.6.1-schema.json.gz", import.meta.url))).toString("utf8")) as object;
    validator = new AjvClass({ strict: false, allowUnionTypes: true, validateFormats: false }).compile(schema);
  } catch {
    validator = null; // ajv or the schema missing: the spec cannot be checked
  }
  return validator;
}

/** The spec's problems as Vega-Lite 5 (at most 5, "path message"), [] when valid, or null when it cannot be checked here. */
export function vegaLite5Errors(spec: Record<string, unknown>): string[] | null {
  const validate = load();
  if (!validate) return null;
  if (validate(spec)) return [];
  return (validate.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || "/"} ${e.message ?? "is invalid"}`);
}
