/**
 * Why streams branched: decisionChart(run) draws the run's decisions at jump sites (request
 * option `logprobs`; forge/instruments/decisions.ts) in three panels —
 *  1. pJump by visit across streams (box plot per visit: how sure the model was of the
 *     control pattern, iteration by iteration). The titles say which pJump it is: exact (request
 *     `logprobs: { decisions: "exact" }`: summed over the pattern's accepted tokenizations) or the
 *     walked-path estimate (`logprobs: true`); a run with both says how many of each;
 *  2. survival: the share of streams still visiting the site by visit number;
 *  3. calibration: pJump binned against the observed rate at which a visit emitted the pattern
 *     (a jump taken, or one fired under a loop's `min`).
 * compareChart(original, replayed) sets the branch paths of replayed streams beside the
 * originals they replay (session.replay).
 * Aggregated over streams, so they read the same at 5 or 5 000.
 */
import type { TopLevelSpec } from "vega-lite";
import type { Run } from "../forge/run/index.js";
import { siteLabel } from "./labels.js";
import { asDisplayable, shortRunId, VEGALITE_SCHEMA, type ChartSpec, type ViewSpec } from "./render.js";
import { VizError } from "./errors.js";

/** Calibration bins over [0, 1]. */
export const CALIBRATION_BINS = 10;

/** What the run's pJump values are, in words for the titles: all exact, all estimates, or a mix (records without `exact` are estimates). */
function pJumpBasis(decisions: ReadonlyArray<{ exact?: boolean }>): { subtitle: string; panel: string; axis: string } {
  const exact = decisions.filter((d) => d.exact === true).length;
  const estimated = decisions.length - exact;
  if (estimated === 0)
    return { subtitle: "pJump exact: the control pattern's probability summed over its accepted tokenizations", panel: "exact: the model's probability of the control pattern", axis: "pJump (exact)" };
  if (exact === 0)
    return {
      subtitle: 'pJump estimated along the walked path (request logprobs: { decisions: "exact" } for the exact value)',
      panel: "estimate: the model's probability of the control pattern, read along the walked path",
      axis: "pJump (walked-path estimate)",
    };
  return {
    subtitle: `pJump mixed: exact for ${exact} visits, estimated along the walked path for ${estimated} (no probe for them)`,
    panel: `exact for ${exact} visits, walked-path estimate for ${estimated}`,
    axis: "pJump (exact or estimate)",
  };
}

export function decisionChart(run: Run): ChartSpec {
  const decisions = run.decisions ?? [];
  const basis = pJumpBasis(decisions);
  const title = {
    text: `Decisions at jump sites — ${shortRunId(run.meta.runId)}`,
    subtitle: decisions.length === 0 ? `${run.streams.length} streams, 0 visits with a sampled token` : [`${run.streams.length} streams, ${decisions.length} visits with a sampled token`, basis.subtitle],
  };
  const description = `Decisions of run ${run.meta.runId}`;
  if (decisions.length === 0) {
    const message = run.decisions === undefined ? "No decisions recorded: run the request with { logprobs: true }." : "No jump site was visited with a sampled token.";
    return asDisplayable({
      $schema: VEGALITE_SCHEMA,
      description,
      title,
      data: { values: [{ message }] },
      mark: { type: "text", align: "left" },
      encoding: { text: { field: "message", type: "nominal" } },
    } satisfies TopLevelSpec);
  }
  const label = (zoneId: number) => siteLabel(run.workflow, zoneId);
  const points = decisions.map((d) => ({ site: label(d.zoneId), visit: d.visit + 1, pJump: d.pJump, emitted: d.outcome === "jump" || d.outcome === "ignored_jump" ? 1 : 0, outcome: d.outcome }));

  // Survival: per site, the share of streams with at least v visits (v = 1, 2, …).
  const visitsPerStream = new Map<string, Map<number, number>>();
  for (const d of decisions) {
    const site = label(d.zoneId);
    const byStream = visitsPerStream.get(site) ?? new Map<number, number>();
    byStream.set(d.instance, Math.max(byStream.get(d.instance) ?? 0, d.visit + 1));
    visitsPerStream.set(site, byStream);
  }
  const streams = run.streams.length;
  const survival = [...visitsPerStream].flatMap(([site, byStream]) => {
    const most = Math.max(...byStream.values());
    return Array.from({ length: most }, (_, i) => ({ site, visit: i + 1, share: [...byStream.values()].filter((n) => n >= i + 1).length / streams }));
  });

  // Calibration: mean pJump and observed rate per bin, with the count.
  const bins = Array.from({ length: CALIBRATION_BINS }, () => ({ sum: 0, emitted: 0, n: 0 }));
  for (const p of points) {
    const bin = bins[Math.min(CALIBRATION_BINS - 1, Math.floor(p.pJump * CALIBRATION_BINS))]!;
    bin.sum += p.pJump;
    bin.emitted += p.emitted;
    bin.n++;
  }
  const calibration = bins.flatMap((b, i) => (b.n === 0 ? [] : [{ bin: `${i / CALIBRATION_BINS}–${(i + 1) / CALIBRATION_BINS}`, predicted: b.sum / b.n, observed: b.emitted / b.n, visits: b.n }]));

  const panels: ViewSpec[] = [
    {
      title: `pJump by visit (${basis.panel})`,
      width: 420,
      height: 160,
      data: { values: points },
      mark: { type: "boxplot", extent: "min-max" },
      encoding: {
        x: { field: "visit", type: "ordinal", title: "visit (loop iteration)" },
        y: { field: "pJump", type: "quantitative", title: basis.axis, scale: { domain: [0, 1] } },
        color: { field: "site", type: "nominal", title: "jump site" },
      },
    },
    {
      title: "Streams still visiting the site",
      width: 420,
      height: 140,
      data: { values: survival },
      mark: { type: "line", point: true, interpolate: "step-after", tooltip: true },
      encoding: {
        x: { field: "visit", type: "quantitative", title: "visit", axis: { tickMinStep: 1 } },
        y: { field: "share", type: "quantitative", title: "share of streams", scale: { domain: [0, 1] }, axis: { format: "%" } },
        color: { field: "site", type: "nominal", title: "jump site" },
      },
    },
    {
      title: "Calibration: pJump against the observed rate of emitting the pattern",
      width: 420,
      height: 180,
      layer: [
        {
          data: { values: [{ x: 0, y: 0 }, { x: 1, y: 1 }] },
          mark: { type: "line", strokeDash: [4, 4], color: "#999" },
          encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } },
        },
        {
          name: "calibration_bins",
          data: { values: calibration },
          mark: { type: "point", filled: true, tooltip: true },
          encoding: {
            x: { field: "predicted", type: "quantitative", title: `mean ${basis.axis} in bin`, scale: { domain: [0, 1] } },
            y: { field: "observed", type: "quantitative", title: "observed rate", scale: { domain: [0, 1] } },
            size: { field: "visits", type: "quantitative", title: "visits" },
          },
        },
      ],
    },
  ];
  return asDisplayable({ $schema: VEGALITE_SCHEMA, description, title, vconcat: panels, resolve: { scale: { color: "independent" } } } satisfies TopLevelSpec);
}

/**
 * The branch paths of a replay beside those of the streams it replays: one row per stream,
 * "original" above "replayed", bars are zone visits coloured by sequence, the replay's force
 * step marked.
 */
export function compareChart(original: Run, replayed: Run): ChartSpec {
  if (replayed.meta.replayOf === undefined) throw new VizError("compareChart", "the second run is not a replay (session.replay gives one)");
  if (replayed.meta.replayOf.runId !== original.meta.runId)
    throw new VizError("compareChart", `the replay is of run ${shortRunId(replayed.meta.replayOf.runId)}, not of ${shortRunId(original.meta.runId)}`);
  const byInstance = new Map(original.streams.map((s, k) => [s.instance, k]));
  const rows: Array<{ stream: string; run: string; sequence: string; start: number; end: number }> = [];
  const marks: Array<{ stream: string; step: number; force: string }> = [];
  // Replayed streams come in instance order, replays of one instance in the order asked: the
  // k-th stream of an instance is that instance's k-th replay.
  const seen = new Map<number, number>();
  replayed.streams.forEach((stream, k) => {
    const nth = seen.get(stream.instance) ?? 0;
    seen.set(stream.instance, nth + 1);
    const spec = replayed.meta.replayOf!.streams.filter((s) => s.instance === stream.instance)[nth];
    const label = `#${stream.instance}${spec?.force ? ` ← ${JSON.stringify(spec.force)} @${spec.step}` : nth > 0 ? ` (replay ${nth + 1})` : ""}`;
    const originalIndex = byInstance.get(stream.instance);
    if (originalIndex !== undefined)
      for (const seg of original.paths[originalIndex]!) rows.push({ stream: label, run: "original", sequence: seg.sequence, start: seg.stepStart, end: seg.stepEnd });
    for (const seg of replayed.paths[k]!) rows.push({ stream: label, run: "replayed", sequence: seg.sequence, start: seg.stepStart, end: seg.stepEnd });
    if (spec?.step !== null && spec?.step !== undefined) marks.push({ stream: label, step: spec.step, force: spec.force ?? "" });
  });
  return asDisplayable({
    $schema: VEGALITE_SCHEMA,
    description: `Replay ${replayed.meta.runId} of run ${original.meta.runId}`,
    title: { text: `Replay of ${shortRunId(original.meta.runId)}`, subtitle: "branch paths, original above replayed; the rule marks where the replay forced its text" },
    // Row labels above their rows, horizontal: they hold the forced text, too long to stand on end.
    facet: { row: { field: "stream", type: "nominal", title: null, header: { labelAngle: 0, labelOrient: "top", labelAnchor: "start", labelFontWeight: "bold" } } },
    data: { values: [...rows.map((r) => ({ ...r, kind: "segment" })), ...marks.map((m) => ({ ...m, kind: "force", run: "replayed" }))] },
    spec: {
      width: 480,
      height: { step: 14 },
      layer: [
        {
          transform: [{ filter: "datum.kind === 'segment'" }],
          mark: { type: "bar", tooltip: true },
          encoding: {
            y: { field: "run", type: "nominal", title: null, sort: ["original", "replayed"] },
            x: { field: "start", type: "quantitative", title: "step" },
            x2: { field: "end" },
            color: { field: "sequence", type: "nominal", title: "sequence" },
          },
        },
        {
          transform: [{ filter: "datum.kind === 'force'" }],
          mark: { type: "rule", color: "#e45756", strokeWidth: 2 },
          encoding: { x: { field: "step", type: "quantitative" }, tooltip: { field: "force", type: "nominal" } },
        },
      ],
    },
  } satisfies TopLevelSpec);
}
