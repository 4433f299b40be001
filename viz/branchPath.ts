/**
 * Branch paths per stream: step on x, stream on y, one bar per zone visit coloured by
 * sequence (or zone), and a mark where a visit was left by a jump or a forced loop exit.
 * Large batches are sampled evenly, and the subtitle says so.
 */
import type { TopLevelSpec } from "vega-lite";
import type { Run } from "../forge/run/index.js";
import { siteLabel, zoneLabel } from "./labels.js";
import { asDisplayable, shortRunId, VEGALITE_SCHEMA, type ChartSpec } from "./render.js";
import { VizError } from "./errors.js";
import { sampleEvenly, streamsNote } from "./sample.js";

export interface BranchPathOptions {
  /** Colour the bars by sequence name (default) or by zone. */
  colorBy?: "sequence" | "zone";
  /** Most streams drawn; larger runs are sampled evenly (default 100). */
  maxStreams?: number;
  /** Draw exactly these instances instead of sampling. */
  instances?: number[];
  width?: number;
}

export const DEFAULT_MAX_STREAMS = 100;

export function branchPathChart(run: Run, opts: BranchPathOptions = {}): ChartSpec {
  const total = run.streams.length;
  const picked = pickStreams(run, opts);
  const colorField = opts.colorBy === "zone" ? "zone" : "sequence";

  const segments: Record<string, string | number | boolean>[] = [];
  const jumps: Record<string, string | number>[] = [];
  for (const i of picked) {
    const trace = run.streams[i]!;
    for (const segment of run.paths[i]!) {
      segments.push({
        stream: trace.instance,
        sequence: segment.sequence,
        zone: zoneLabel(run.workflow, segment.zoneId),
        stepStart: segment.stepStart,
        stepEnd: segment.stepEnd,
        tokens: segment.stepEnd - segment.stepStart,
      });
    }
    for (const event of trace.events) {
      if (event.kind !== "jump" && event.kind !== "forced_exit") continue;
      jumps.push({
        stream: trace.instance,
        // The transition happens after the token that caused it: mark the bar's right edge.
        at: event.step + 1,
        step: event.step,
        exit: event.kind === "jump" ? "jump taken" : "forced exit",
        site: siteLabel(run.workflow, event.zone),
      });
    }
  }

  const shownInstances = picked.map((i) => run.streams[i]!.instance);
  const rowHeight = shownInstances.length <= 40 ? 14 : Math.max(3, Math.floor(600 / shownInstances.length));
  // Label at most ~40 rows so the axis stays legible.
  const labelEvery = Math.max(1, Math.ceil(shownInstances.length / 40));
  const yEncoding = {
    field: "stream",
    type: "ordinal" as const,
    title: "stream",
    scale: { domain: shownInstances },
    axis: { values: shownInstances.filter((_, k) => k % labelEvery === 0) },
  };

  const note = opts.instances ? streamsNote(picked.length, total, "chosen by instance") : streamsNote(picked.length, total);
  const spec: TopLevelSpec = {
    $schema: VEGALITE_SCHEMA,
    description: `Branch paths of run ${run.meta.runId}`,
    title: { text: `Branch paths — ${shortRunId(run.meta.runId)}`, subtitle: `${note}; bars are zone visits, marks are jumps` },
    width: opts.width ?? 700,
    height: rowHeight * Math.max(1, shownInstances.length),
    layer: [
      {
        name: "segments",
        data: { values: segments },
        mark: { type: "rect", tooltip: true },
        encoding: {
          x: { field: "stepStart", type: "quantitative", title: "step" },
          x2: { field: "stepEnd" },
          y: yEncoding,
          color: { field: colorField, type: "nominal", title: colorField },
          tooltip: [
            { field: "stream", type: "ordinal" },
            { field: "zone", type: "nominal" },
            { field: "stepStart", type: "quantitative" },
            { field: "stepEnd", type: "quantitative" },
            { field: "tokens", type: "quantitative" },
          ],
        },
      },
      {
        name: "jumps",
        data: { values: jumps },
        mark: { type: "point", filled: true, size: rowHeight >= 10 ? 60 : 20 },
        encoding: {
          x: { field: "at", type: "quantitative" },
          y: yEncoding,
          shape: {
            field: "exit",
            type: "nominal",
            title: "left by",
            scale: { domain: ["jump taken", "forced exit"], range: ["triangle-right", "cross"] },
          },
          color: { value: "black" },
          tooltip: [
            { field: "stream", type: "ordinal" },
            { field: "site", type: "nominal" },
            { field: "exit", type: "nominal" },
            { field: "step", type: "quantitative" },
          ],
        },
      },
    ],
  };
  return asDisplayable(spec);
}

/** Positions in run.streams of the streams to draw. */
function pickStreams(run: Run, opts: BranchPathOptions): number[] {
  if (opts.instances) {
    const byInstance = new Map(run.streams.map((s, i) => [s.instance, i]));
    return opts.instances.map((instance) => {
      const i = byInstance.get(instance);
      if (i === undefined) throw new VizError("branchPathChart", `the run has no stream with instance ${instance}`);
      return i;
    });
  }
  return sampleEvenly(run.streams.length, opts.maxStreams ?? DEFAULT_MAX_STREAMS, "branchPathChart");
}
