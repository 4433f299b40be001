/**
 * Which part of a chart's bundle each front end shows, computed with the front end's own
 * selection rule and its documented ranks:
 *
 * - JupyterLab 4 (`@jupyterlab/rendermime`, `RenderMimeRegistry.preferredMimeType`): the mime
 *   types are ordered by rank, lowest first; an output that is trusted takes the first type
 *   present, an untrusted one the first type present whose factory is `safe`. The ranks are the
 *   `defaultRank`s of `packages/rendermime/src/factories.ts` and the rank 57 of
 *   `packages/vega5-extension/src/index.ts` (which renders vega-lite v3, v4 and v5 specs).
 * - Classic Notebook 6.4 (`notebook/static/notebook/js/outputarea.js`): the first type of
 *   `OutputArea.display_order` it has a renderer for; it has none for Vega-Lite.
 * - nbconvert 6.5's HTML exporter: the first type of its `display_data_priority`.
 *
 * The browser tests (test/frontend/, test/notebooks/) then look at what is drawn.
 */
import { describe, expect, it } from "vitest";
import { deriveRun } from "../../forge/run/index.js";
import { ByteTokenizer } from "../../forge/tokenizer/byte.js";
import { branchPathChart, chartBundle, decisionTreeChart, jumpStatisticsChart, tokenBudgetChart, VEGALITE_MIME } from "../../viz/index.js";
import { loopWhenWorkflow as workflow, metaFor, SETUP, traceOf, walk } from "../fixtures/runs/workflow.js";

const LAB_FACTORIES: Array<{ mimeTypes: string[]; rank: number; safe: boolean }> = [
  { mimeTypes: ["text/html"], rank: 50, safe: true },
  { mimeTypes: ["application/vnd.vega.v5+json", "application/vnd.vegalite.v3+json", "application/vnd.vegalite.v4+json", "application/vnd.vegalite.v5+json"], rank: 57, safe: true },
  { mimeTypes: ["text/markdown"], rank: 60, safe: true },
  { mimeTypes: ["text/latex"], rank: 70, safe: true },
  { mimeTypes: ["image/svg+xml"], rank: 80, safe: false },
  { mimeTypes: ["image/bmp", "image/png", "image/jpeg", "image/gif", "image/webp"], rank: 90, safe: true },
  { mimeTypes: ["text/javascript", "application/javascript"], rank: 110, safe: false },
  { mimeTypes: ["application/vnd.jupyter.stderr"], rank: 110, safe: true },
  { mimeTypes: ["text/plain", "application/vnd.jupyter.stdout"], rank: 120, safe: true },
];

/** JupyterLab's `preferredMimeType(bundle, trusted ? "any" : "ensure")`. */
function labPicks(bundle: Record<string, unknown>, trusted: boolean): string | undefined {
  const ordered = LAB_FACTORIES.flatMap((f) => f.mimeTypes.map((mimeType) => ({ mimeType, rank: f.rank, safe: f.safe }))).sort(
    (a, b) => a.rank - b.rank,
  );
  // "any": the first type present; "ensure": the first type present that is safe.
  return ordered.find((f) => f.mimeType in bundle && (trusted || f.safe))?.mimeType;
}

const CLASSIC_DISPLAY_ORDER = ["application/javascript", "text/html", "text/markdown", "text/latex", "image/svg+xml", "image/png", "image/jpeg", "application/pdf", "text/plain"];
const NBCONVERT_HTML_PRIORITY = ["application/vnd.jupyter.widget-view+json", "application/javascript", "text/html", "text/markdown", "image/svg+xml", "text/latex", "image/png", "image/jpeg", "text/plain"];
const firstOf = (order: string[], bundle: Record<string, unknown>) => order.find((mimeType) => mimeType in bundle);

const tokenizer = new ByteTokenizer();
const run = deriveRun(
  { meta: metaFor(workflow, 2), workflow, streams: [traceOf(workflow, tokenizer, 0, walk(1, "yes"), "done"), traceOf(workflow, tokenizer, 1, SETUP, "truncated")] },
  tokenizer,
);

describe("what each front end shows of a chart", () => {
  const charts = { branchPathChart, jumpStatisticsChart, decisionTreeChart, tokenBudgetChart };
  for (const [name, build] of Object.entries(charts)) {
    it(`${name}: JupyterLab its Vega-Lite renderer, classic Notebook and nbconvert the SVG`, async () => {
      const bundle = await chartBundle(build(run));
      // Lab draws the spec itself (tooltips, actions menu), trusted or not.
      expect(labPicks(bundle, true)).toBe(VEGALITE_MIME);
      expect(labPicks(bundle, false)).toBe(VEGALITE_MIME);
      expect(firstOf(CLASSIC_DISPLAY_ORDER, bundle)).toBe("image/svg+xml");
      expect(firstOf(NBCONVERT_HTML_PRIORITY, bundle)).toBe("image/svg+xml");
    });
  }

  it("the rule can fail: with an HTML copy of the SVG (the old bundle) Lab shows the HTML", async () => {
    const bundle = { ...(await chartBundle(tokenBudgetChart(run))), "text/html": "<div><svg></svg></div>" };
    expect(labPicks(bundle, true)).toBe("text/html");
    expect(labPicks(bundle, false)).toBe("text/html");
    // Without the spec, an untrusted SVG is not shown at all: Lab falls back to the title text.
    expect(labPicks({ "image/svg+xml": "<svg/>", "text/plain": "t" }, true)).toBe("image/svg+xml");
    expect(labPicks({ "image/svg+xml": "<svg/>", "text/plain": "t" }, false)).toBe("text/plain");
  });
});
