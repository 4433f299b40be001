import { describe, expect, it } from "vitest";
import { mimeBundleOf, specForV5Mime, vegaLiteBundle, VEGALITE_MIME, VEGALITE_V5_SCHEMA } from "../../../kernel/output/index.js";

const chart = (schema?: string) => ({ ...(schema ? { $schema: schema } : {}), data: { values: [{ a: 1 }] }, mark: "bar", encoding: { x: { field: "a", type: "quantitative" } } });

describe("Vega-Lite specs under the v5 MIME type", () => {
  it("a spec declaring v6 (or none) goes declaring v5; v3–v5 specs go as they are", () => {
    const schemaOf = (schema?: string) => specForV5Mime(chart(schema)).spec?.$schema;
    expect(schemaOf("https://vega.github.io/schema/vega-lite/v6.json")).toBe(VEGALITE_V5_SCHEMA);
    expect(schemaOf("https://vega.github.io/schema/vega-lite/v6.4.3.json")).toBe(VEGALITE_V5_SCHEMA);
    expect(schemaOf()).toBe(VEGALITE_V5_SCHEMA);
    expect(schemaOf("https://vega.github.io/schema/vega-lite/v4.json")).toBe("https://vega.github.io/schema/vega-lite/v4.json");
    expect(schemaOf("https://vega.github.io/schema/vega-lite/v5.17.0.json")).toBe("https://vega.github.io/schema/vega-lite/v5.17.0.json");
  });

  it("a v6 spec that is not valid Vega-Lite 5 (the time channel is new in 6) is not sent under the v5 type: the SVG is the chart", async () => {
    const v6Only = { $schema: "https://vega.github.io/schema/vega-lite/v6.json", title: "anim", data: { values: [{ t: 1 }] }, mark: "point", encoding: { time: { field: "t", type: "temporal" } } };
    const checked = specForV5Mime(v6Only);
    expect(checked.spec).toBeNull();
    expect("errors" in checked && checked.errors.join(" ")).toMatch(/encoding/);
    const bundle = await vegaLiteBundle(v6Only, () => "<svg/>");
    expect(Object.keys(bundle).sort()).toEqual(["image/svg+xml", "text/plain"]);
    expect(bundle["text/plain"]).toMatch(/^Vega-Lite chart: anim \(uses Vega-Lite 6 features that JupyterLab's Vega-Lite 5 renderer lacks, so it is shown as a picture: /);
  });

  it("the spec sent is plain JSON and the user's object is not changed; the SVG is drawn from the spec as given", async () => {
    const spec = { ...chart("https://vega.github.io/schema/vega-lite/v6.json"), [Symbol("x")]: 1, when: undefined };
    let rendered: Record<string, unknown> | null = null;
    const bundle = await vegaLiteBundle(spec, (s) => {
      rendered = s;
      return "<svg/>";
    });
    expect(Object.keys(bundle).sort()).toEqual([VEGALITE_MIME, "image/svg+xml", "text/plain"].sort());
    expect(bundle[VEGALITE_MIME]).toEqual({ ...chart(), $schema: VEGALITE_V5_SCHEMA });
    expect(spec.$schema).toBe("https://vega.github.io/schema/vega-lite/v6.json");
    expect(rendered).toBe(spec);
    expect(bundle["text/plain"]).toBe("Vega-Lite chart");
  });

  it("a value recognised as a spec by its $schema is shown as a chart", async () => {
    const bundle = await mimeBundleOf(chart("https://vega.github.io/schema/vega-lite/v6.json"), null);
    expect((bundle[VEGALITE_MIME] as { $schema: string }).$schema).toBe(VEGALITE_V5_SCHEMA);
  });
});
