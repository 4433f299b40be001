/**
 * Token budget: generated vs forced tokens, per sequence over the whole batch and per
 * stream. Past `maxStreams` the per-stream bars are an even sample (said in the panel
 * title), and a histogram of stream lengths over every stream is added so nothing is lost.
 */
import type { TopLevelSpec } from "vega-lite";
import type { Run } from "../forge/run/index.js";
import { asDisplayable, shortRunId, VEGALITE_SCHEMA, type ChartSpec, type ViewSpec } from "./render.js";
import { sampleEvenly, streamsNote } from "./sample.js";
import { DEFAULT_MAX_STREAMS } from "./branchPath.js";

export interface TokenBudgetOptions {
  /** Most streams drawn as bars; larger runs are sampled evenly (default 100). */
  maxStreams?: number;
}

const KINDS = ["generated", "forced"];
const KIND_COLOURS = ["#4c78a8", "#bab0ac"];
const kindColour = { field: "kind", type: "nominal" as const, title: "tokens", scale: { domain: KINDS, range: KIND_COLOURS } };
const kindOrder = { field: "order", type: "quantitative" as const };
/** Font size of the per-stream axis labels, and the least room (px along x) one needs. */
const LABEL_FONT_SIZE = 10;
const LABEL_SPACING = LABEL_FONT_SIZE + 3;

export function tokenBudgetChart(run: Run, opts: TokenBudgetOptions = {}): ChartSpec {
  const s = run.statistics;
  const total = run.streams.length;
  const generated = s.generatedTokens.reduce((a, b) => a + b, 0);
  const forced = s.forcedTokens.reduce((a, b) => a + b, 0);

  const sequences = Object.entries(s.bySequence);
  const sequenceOrder = sequences.map(([name]) => name);
  const sequenceRows = sequences.flatMap(([sequence, c]) => [
    { sequence, kind: "generated", order: 0, tokens: c.generated },
    { sequence, kind: "forced", order: 1, tokens: c.forced },
  ]);
  const sequenceTotals = sequences.map(([sequence, c]) => ({
    sequence,
    tokens: c.generated + c.forced,
    label: `${c.generated} generated · ${c.forced} forced`,
  }));
  const bySequencePanel: ViewSpec = {
    title: "Per sequence, all streams",
    width: 360,
    height: { step: 22 },
    layer: [
      {
        name: "sequence_tokens",
        data: { values: sequenceRows },
        mark: { type: "bar", tooltip: true },
        encoding: {
          y: { field: "sequence", type: "nominal", sort: sequenceOrder, title: "sequence" },
          x: { field: "tokens", type: "quantitative", stack: "zero", title: "tokens" },
          color: kindColour,
          order: kindOrder,
        },
      },
      {
        name: "sequence_totals",
        data: { values: sequenceTotals },
        mark: { type: "text", align: "left", dx: 4, fontSize: 10 },
        encoding: {
          y: { field: "sequence", type: "nominal", sort: sequenceOrder },
          x: { field: "tokens", type: "quantitative" },
          text: { field: "label", type: "nominal" },
        },
      },
    ],
  };

  const picked = sampleEvenly(total, opts.maxStreams ?? DEFAULT_MAX_STREAMS, "tokenBudgetChart");
  const streamRows = picked.flatMap((i) => [
    { stream: run.streams[i]!.instance, kind: "generated", order: 0, tokens: s.generatedTokens[i]! },
    { stream: run.streams[i]!.instance, kind: "forced", order: 1, tokens: s.forcedTokens[i]! },
  ]);
  const shown = picked.map((i) => run.streams[i]!.instance);
  // 14 px a bar up to 720 px in all; the stream labels stand upright (one line of
  // LABEL_FONT_SIZE px each), so label every k-th bar where k bars give a label room.
  const width = Math.min(720, Math.max(200, 14 * shown.length));
  const labelEvery = Math.max(1, Math.ceil(LABEL_SPACING / (width / Math.max(1, shown.length))));
  const perStreamPanel: ViewSpec = {
    name: "per_stream",
    title: `Per stream (${streamsNote(picked.length, total)})`,
    width,
    height: 200,
    data: { values: streamRows },
    mark: { type: "bar", tooltip: true },
    encoding: {
      x: {
        field: "stream", type: "ordinal", title: "stream",
        scale: { domain: shown },
        axis: { values: shown.filter((_, k) => k % labelEvery === 0), labelAngle: -90, labelFontSize: LABEL_FONT_SIZE },
      },
      y: { field: "tokens", type: "quantitative", stack: "zero", title: "tokens" },
      color: kindColour,
      order: kindOrder,
    },
  };

  const panels: ViewSpec[] = [bySequencePanel, perStreamPanel];
  if (picked.length < total) {
    panels.push({
      name: "length_histogram",
      title: `Stream length, all ${total} streams`,
      width: 500,
      height: 140,
      data: { values: s.length.map((length) => ({ length })) },
      mark: "bar",
      encoding: {
        x: { field: "length", type: "quantitative", bin: { maxbins: 40 }, title: "tokens per stream" },
        y: { aggregate: "count", type: "quantitative", title: "streams" },
      },
    });
  }

  const spec: TopLevelSpec = {
    $schema: VEGALITE_SCHEMA,
    description: `Token budget of run ${run.meta.runId}`,
    title: {
      text: `Token budget — ${shortRunId(run.meta.runId)}`,
      subtitle: `${generated} generated and ${forced} forced tokens over ${total} streams`,
    },
    vconcat: panels,
  };
  return asDisplayable(spec);
}
