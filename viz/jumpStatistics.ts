/**
 * Jump statistics: per jump site, how its visits ended (jump taken, exit forced by a loop's
 * max, or the nominal edge), and per loop a histogram of body iterations per stream.
 * Everything is aggregated over the batch, so it reads the same at 5 or 5000 streams.
 */
import type { TopLevelSpec } from "vega-lite";
import type { Run } from "../forge/run/index.js";
import { siteLabel } from "./labels.js";
import { asDisplayable, shortRunId, VEGALITE_SCHEMA, type ChartSpec, type ViewSpec } from "./render.js";

/** Distinct iteration counts beyond which the histogram groups them into ranges. */
export const MAX_HISTOGRAM_BARS = 30;

const OUTCOMES = ["taken", "forced exit", "not taken"];
const OUTCOME_COLOURS = ["#e45756", "#f2a33a", "#9eb9d6"];

export function jumpStatisticsChart(run: Run): ChartSpec {
  const { jumpSites, loops } = run.statistics;
  const streams = run.streams.length;
  const description = `Jump statistics of run ${run.meta.runId}`;
  const title = { text: `Jump statistics — ${shortRunId(run.meta.runId)}`, subtitle: `aggregated over all ${streams} streams` };
  if (jumpSites.length === 0) {
    return asDisplayable({
      $schema: VEGALITE_SCHEMA,
      description,
      title,
      data: { values: [{ message: "This workflow has no jump sites (no loop or when)." }] },
      mark: { type: "text", align: "left" },
      encoding: { text: { field: "message", type: "nominal" } },
    } satisfies TopLevelSpec);
  }

  const siteOrder = jumpSites.map((site) => siteLabel(run.workflow, site.zoneId));
  const outcomes = jumpSites.flatMap((site, i) =>
    [site.taken, site.forced, site.visits - site.taken - site.forced].map((count, k) => ({
      site: siteOrder[i]!,
      outcome: OUTCOMES[k]!,
      order: k,
      count,
    })),
  );
  const summaries = jumpSites.map((site, i) => ({
    site: siteOrder[i]!,
    visits: site.visits,
    label:
      `${site.taken} taken · ${site.forced} forced · ${site.visits} visits · ` +
      `${site.streamsTaking} stream${site.streamsTaking === 1 ? "" : "s"} jumped`,
  }));
  const y = { field: "site", type: "nominal" as const, title: "jump site", sort: siteOrder };

  const panels: ViewSpec[] = [
    {
      title: "How each visit to a jump site ended",
      width: 420,
      height: { step: 26 },
      layer: [
        {
          name: "site_outcomes",
          data: { values: outcomes },
          mark: { type: "bar", tooltip: true },
          encoding: {
            y,
            x: { field: "count", type: "quantitative", stack: "zero", title: "visits" },
            // Above the bars: at the right it lands past the summary labels, off narrow output areas.
            color: { field: "outcome", type: "nominal", scale: { domain: OUTCOMES, range: OUTCOME_COLOURS }, legend: { orient: "top" } },
            order: { field: "order", type: "quantitative" },
          },
        },
        {
          name: "site_labels",
          data: { values: summaries },
          mark: { type: "text", align: "left", dx: 4 },
          encoding: {
            y,
            x: { field: "visits", type: "quantitative" },
            text: { field: "label", type: "nominal" },
          },
        },
      ],
    },
  ];

  for (const loop of loops) {
    const zone = run.workflow.zones[loop.zoneId]!;
    const bounds = [zone.loop?.min != null ? `min ${zone.loop.min}` : "", zone.loop?.max != null ? `max ${zone.loop.max}` : ""]
      .filter(Boolean)
      .join(", ");
    panels.push({
      title: `Loop ${siteLabel(run.workflow, loop.zoneId)}: body iterations per stream${bounds ? ` (${bounds})` : ""}`,
      width: 420,
      height: 160,
      data: { values: histogram(loop.iterations) },
      encoding: {
        x: { field: "iterations", type: "ordinal", sort: null, title: "iterations", axis: { labelAngle: 0 } },
        y: { field: "streams", type: "quantitative", title: "streams" },
      },
      layer: [
        { name: `loop${loop.zoneId}_iterations`, mark: { type: "bar", tooltip: true } },
        { name: `loop${loop.zoneId}_counts`, mark: { type: "text", dy: -6 }, encoding: { text: { field: "streams", type: "quantitative" } } },
      ],
    });
  }

  return asDisplayable({
    $schema: VEGALITE_SCHEMA,
    description,
    title,
    vconcat: panels,
  } satisfies TopLevelSpec);
}

/** Streams per iteration count, in order; ranges ("4–7") once there are too many counts. */
export function histogram(values: number[]): { iterations: string; streams: number }[] {
  if (values.length === 0) return [];
  const min = Math.min(...values);
  const max = Math.max(...values);
  const width = Math.max(1, Math.ceil((max - min + 1) / MAX_HISTOGRAM_BARS));
  const counts = new Map<number, number>();
  for (const v of values) {
    const lo = min + Math.floor((v - min) / width) * width;
    counts.set(lo, (counts.get(lo) ?? 0) + 1);
  }
  return [...counts.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([lo, streams]) => ({ iterations: width === 1 ? String(lo) : `${lo}–${lo + width - 1}`, streams }));
}
