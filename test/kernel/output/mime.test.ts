import { describe, expect, it } from "vitest";
import { mimeBundleOf, specForV5Mime, vegaLiteBundle, VEGALITE_MIME, VEGALITE_V5_SCHEMA } from "../../../kernel/output/index.js";

const chart = (schema?: string) => ({ ...(schema ? { $schema: schema } : {}), data: { values: [{ a: 1 }] }, mark: "bar", encoding: { x: { field: "a", type: "quantitative" } } });

describe("Vega-Lite specs under the v5 MIME type", () => {
  it("a spec declaring v6 (or none) goes declaring v5; v3–v5 specs go as they are", () => {
    expect(specForV5Mime(chart("https://vega.github.io/schema/vega-lite/v6.json")).$schema).toBe(VEGALITE_V5_SCHEMA);
    expect(specForV5Mime(chart("https://vega.github.io/schema/vega-lite/v6.4.3.json")).$schema).toBe(VEGALITE_V5_SCHEMA);
    expect(specForV5Mime(chart()).$schema).toBe(VEGALITE_V5_SCHEMA);
    expect(specForV5Mime(chart("https://vega.github.io/schema/vega-lite/v4.json")).$schema).toBe("https://vega.github.io/schema/vega-lite/v4.json");
    expect(specForV5Mime(chart("https://vega.github.io/schema/vega-lite/v5.17.0.json")).$schema).toBe("https://vega.github.io/schema/vega-lite/v5.17.0.json");
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
