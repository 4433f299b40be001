import { beforeAll, describe, expect, it } from "vitest";
import { compile, type TopLevelSpec } from "vega-lite";
import { isDisplayable, mimeBundle } from "../../forge/display.js";
import { deriveRun, type Run } from "../../forge/run/index.js";
import { END, type SzcpWorkflow } from "../../forge/szcp/types.js";
import { ByteTokenizer } from "../../forge/tokenizer/byte.js";
import {
  branchPathChart,
  chartBundle,
  decisionTreeChart,
  distinctPaths,
  jumpStatisticsChart,
  renderSvg,
  sampleEvenly,
  tokenBudgetChart,
  VEGALITE_MIME,
  VEGALITE_SCHEMA,
  type ChartSpec,
} from "../../viz/index.js";
import { largeRun } from "../fixtures/runs/large.js";
import { loopWhenWorkflow as workflow, metaFor, prompt, SETUP, traceOf, walk } from "../fixtures/runs/workflow.js";
import { allTexts, axisLabels, markCount, markTexts, schemaErrors } from "./svg.js";

const tokenizer = new ByteTokenizer();

/** 3 streams: one loop iteration + if-branch; 3 iterations, forced exit + else-branch; truncated early. */
const small: Run = deriveRun(
  {
    meta: metaFor(workflow, 3),
    workflow,
    streams: [
      traceOf(workflow, tokenizer, 0, walk(1, "yes"), "done"),
      traceOf(workflow, tokenizer, 1, walk(3, "no"), "done"),
      traceOf(workflow, tokenizer, 2, [...SETUP, prompt(workflow, 2), { zone: 3, generated: " Go" }], "truncated"),
    ],
  },
  tokenizer,
);
const large = largeRun(512);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

function compileCollectingWarnings(spec: TopLevelSpec) {
  const warnings: string[] = [];
  const collect = (...args: unknown[]) => void warnings.push(args.join(" "));
  const logger = { level: () => logger, error: collect, warn: collect, info: () => logger, debug: () => logger };
  const compiled = compile(spec, { logger: logger as unknown as NonNullable<Parameters<typeof compile>[1]>["logger"] });
  return { compiled, warnings };
}

/** Every chart must declare Vega-Lite 5 (its mime type's version), pass both the v5 schema
 * (what JupyterLab renders it with) and the v6 one, compile with vega-lite without a warning
 * and render with vega. */
async function checked(spec: ChartSpec): Promise<string> {
  expect(spec.$schema).toBe(VEGALITE_SCHEMA);
  expect(VEGALITE_SCHEMA).toMatch(/\/v5\.json$/);
  expect(VEGALITE_MIME).toBe("application/vnd.vegalite.v5+json");
  expect(schemaErrors(spec, "v5")).toEqual([]);
  expect(schemaErrors(spec)).toEqual([]);
  const { compiled, warnings } = compileCollectingWarnings(spec);
  expect(warnings).toEqual([]);
  expect(compiled.spec.marks?.length ?? 0).toBeGreaterThan(0);
  const svg = await renderSvg(spec);
  expect(svg.startsWith("<svg")).toBe(true);
  return svg;
}

describe("branchPathChart", () => {
  it("draws one bar per zone visit and one mark per jump or forced exit", async () => {
    const svg = await checked(branchPathChart(small));
    expect(markCount(svg, "segments")).toBe(sum(small.paths.map((p) => p.length)));
    expect(markCount(svg, "jumps")).toBe(3); // A's loop jump; B's forced exit and its when jump
    expect(allTexts(svg)).toContain("all 3 streams; bars are zone visits, marks are jumps");
    expect(allTexts(svg)).toEqual(expect.arrayContaining(["jump taken", "forced exit", "reasoning"]));
  });

  it("colours by zone on request and draws only the chosen instances", async () => {
    const svg = await checked(branchPathChart(small, { colorBy: "zone", instances: [0, 2] }));
    expect(markCount(svg, "segments")).toBe(small.paths[0]!.length + small.paths[2]!.length);
    expect(allTexts(svg)).toContain("reasoning#0 Answer");
    expect(allTexts(svg)).toContain("showing 2 of 3 streams, chosen by instance; bars are zone visits, marks are jumps");
    expect(() => branchPathChart(small, { instances: [9] })).toThrow("branchPathChart: the run has no stream with instance 9");
    expect(() => branchPathChart(small, { maxStreams: 0 })).toThrow("branchPathChart: maxStreams must be a whole number ≥ 1 (got 0)");
    expect(() => decisionTreeChart(small, { maxPaths: 2.5 })).toThrow("decisionTreeChart: maxPaths must be a whole number ≥ 1 (got 2.5)");
  });

  it("samples 100 of 512 streams evenly and says so", async () => {
    const svg = await checked(branchPathChart(large));
    const picked = sampleEvenly(512, 100);
    expect(picked).toHaveLength(100);
    expect(picked[0]).toBe(0);
    expect(picked[99]).toBe(511);
    expect(markCount(svg, "segments")).toBe(sum(picked.map((i) => large.paths[i]!.length)));
    expect(allTexts(svg)).toContain("showing 100 of 512 streams, sampled evenly; bars are zone visits, marks are jumps");
  });
});

describe("jumpStatisticsChart", () => {
  it("shows taken / forced / not taken per site and a loop-iteration histogram", async () => {
    const svg = await checked(jumpStatisticsChart(small));
    expect(markCount(svg, "site_outcomes")).toBe(2 * 3);
    expect(markTexts(svg, "site_labels")).toEqual([
      "1 taken · 1 forced · 7 visits · 1 stream jumped",
      "1 taken · 0 forced · 2 visits · 1 stream jumped",
    ]);
    // iterations per stream: A 1, B 3, C 0 → three bars of one stream each.
    expect(markCount(svg, "loop3_iterations")).toBe(3);
    expect(markTexts(svg, "loop3_counts")).toEqual(["1", "1", "1"]);
    expect(allTexts(svg)).toContain("Loop control (zone 3): body iterations per stream (max 3)");
  });

  it("aggregates 512 streams: the histogram accounts for every stream", async () => {
    const svg = await checked(jumpStatisticsChart(large));
    const counts = markTexts(svg, "loop3_counts").map(Number);
    expect(counts).toHaveLength(4); // 0..3 iterations
    expect(sum(counts)).toBe(512);
    const site = large.statistics.jumpSites[0]!;
    expect(markTexts(svg, "site_labels")[0]).toBe(
      `${site.taken} taken · ${site.forced} forced · ${site.visits} visits · ${site.streamsTaking} streams jumped`,
    );
  });

  it("says so when the workflow has no jump sites", async () => {
    const flat: SzcpWorkflow = { ...workflow, zones: workflow.zones.slice(0, 2).map((z, i) => (i === 1 ? { ...z, next: END } : z)) };
    const run = deriveRun({ meta: metaFor(flat, 1), workflow: flat, streams: [traceOf(flat, tokenizer, 0, SETUP, "done")] }, tokenizer);
    const svg = await checked(jumpStatisticsChart(run));
    expect(allTexts(svg)).toContain("This workflow has no jump sites (no loop or when).");
  });
});

describe("decisionTreeChart", () => {
  it("ends each distinct path in one cell labelled with its stream count", async () => {
    const svg = await checked(decisionTreeChart(small));
    expect(distinctPaths(small)).toHaveLength(3);
    expect(markCount(svg, "path_ends")).toBe(3);
    // Root column: every stream starts with setup.
    expect(markTexts(svg, "tree_labels")).toContain("setup\n3");
    expect(allTexts(svg)).toContain("3 distinct paths over 3 streams");
  });

  it("keeps 512 streams readable: one end cell per distinct path, counts add up", async () => {
    const paths = distinctPaths(large);
    const svg = await checked(decisionTreeChart(large));
    expect(markCount(svg, "path_ends")).toBe(paths.length);
    expect(paths.length).toBeLessThanOrEqual(30);
    expect(sum(paths.map((p) => p.streams))).toBe(512);
    const ends = markTexts(svg, "tree_labels").filter((t) => t.startsWith("end\n"));
    // The big paths are labelled with their count (thin bands stay unlabelled).
    expect(ends).toContain(`end\n${paths[0]!.streams} streams`);
    expect(allTexts(svg)).toContain(`${paths.length} distinct paths over 512 streams`);
  });

  it("lumps the rarest paths beyond maxPaths and says how many", async () => {
    const paths = distinctPaths(large);
    const svg = await checked(decisionTreeChart(large, { maxPaths: 5 }));
    const lumpedStreams = sum(paths.slice(5).map((p) => p.streams));
    expect(markCount(svg, "path_ends")).toBe(5);
    expect(markCount(svg, "other_paths")).toBe(1);
    expect(markTexts(svg, "other_label")).toEqual([`${paths.length - 5} other paths, ${lumpedStreams} streams`]);
    expect(allTexts(svg)).toContain(
      `${paths.length} distinct paths over 512 streams; showing the 5 most common, the other ${paths.length - 5} (${lumpedStreams} streams) lumped at the bottom`,
    );
  });
});

describe("chart titles", () => {
  it("show a run's UUID cut to 8 characters; the full id is in the spec's description", async () => {
    const uuid = "3589f1e9-e31e-4cca-b738-b9e3fae8dfc5";
    const run: Run = { ...small, meta: { ...small.meta, runId: uuid } };
    const charts = { "Branch paths": branchPathChart(run), "Jump statistics": jumpStatisticsChart(run), "Decision tree": decisionTreeChart(run), "Token budget": tokenBudgetChart(run) };
    for (const [name, chart] of Object.entries(charts)) {
      const texts = allTexts(await renderSvg(chart));
      expect(texts).toContain(`${name} — 3589f1e9`);
      expect(texts.join("\n")).not.toContain("e31e-4cca");
      expect(chart.description).toContain(uuid);
    }
    // Ids that are not UUIDs are shown as they are.
    expect(allTexts(await renderSvg(branchPathChart(small)))).toContain("Branch paths — run-fixture");
  });
});

describe("tokenBudgetChart", () => {
  it("shows generated vs forced per sequence and per stream", async () => {
    const svg = await checked(tokenBudgetChart(small));
    const sequences = Object.keys(small.statistics.bySequence);
    expect(markCount(svg, "sequence_tokens")).toBe(2 * sequences.length);
    const setup = small.statistics.bySequence["setup"]!;
    expect(markTexts(svg, "sequence_totals")[0]).toBe(`${setup.generated} generated · ${setup.forced} forced`);
    expect(markCount(svg, "per_stream")).toBe(2 * 3);
    expect(markCount(svg, "length_histogram")).toBe(-1); // no sampling, so no extra histogram
    const g = sum(small.statistics.generatedTokens);
    const f = sum(small.statistics.forcedTokens);
    expect(allTexts(svg)).toContain(`${g} generated and ${f} forced tokens over 3 streams`);
  });

  it("keeps the stream labels apart at 24 and at 100 streams (one upright 10 px line needs 13 px)", async () => {
    for (const [run, first, last] of [[largeRun(24), "0", "23"], [large, "0", undefined]] as const) {
      const labels = axisLabels(await checked(tokenBudgetChart(run)), "stream");
      expect(labels[0]?.text).toBe(first);
      if (last) expect(labels.at(-1)?.text).toBe(last);
      expect(labels.length).toBeGreaterThan(10);
      const gaps = labels.slice(1).map((label, k) => label.x - labels[k]!.x);
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(13);
    }
  });

  it("samples the per-stream bars at 512 streams and adds a length histogram of all", async () => {
    const svg = await checked(tokenBudgetChart(large));
    expect(markCount(svg, "per_stream")).toBe(2 * 100);
    expect(allTexts(svg)).toContain("Per stream (showing 100 of 512 streams, sampled evenly)");
    expect(markCount(svg, "length_histogram")).toBeGreaterThan(1);
    expect(allTexts(svg)).toContain("Stream length, all 512 streams");
  });
});

describe("schema validation", () => {
  it("catches an invalid spec (the check can fail)", () => {
    for (const version of ["v5", "v6"] as const) {
      expect(schemaErrors({ mark: "pie-chart", data: { values: [] } } as never, version)).not.toEqual([]);
      expect(schemaErrors({ mark: "bar", encoding: { x: { field: "a", type: "quantity" } } } as never, version)).not.toEqual([]);
    }
    // The two schemas differ: v5 has no "time" encoding channel (added in Vega-Lite 6).
    const v6Only = { data: { values: [] }, mark: "point", encoding: { time: { field: "t", type: "temporal" } } };
    expect(schemaErrors(v6Only as never, "v6")).toEqual([]);
    expect(schemaErrors(v6Only as never, "v5")).not.toEqual([]);
  });

  it("collects vega-lite's compile warnings (the check can fail)", () => {
    const { warnings } = compileCollectingWarnings({ data: { values: [] }, mark: "bar", encoding: { shape: { field: "a", type: "nominal" } } });
    expect(warnings.join("\n")).toMatch(/shape/);
  });
});

describe("display in the kernel", () => {
  let bundle: Record<string, unknown>;
  const spec = branchPathChart(small);
  beforeAll(async () => {
    bundle = await chartBundle(spec);
  });

  it("builds a mime bundle: the spec as Vega-Lite 5 JSON, its SVG once, its title; no HTML", () => {
    expect(Object.keys(bundle).sort()).toEqual([VEGALITE_MIME, "image/svg+xml", "text/plain"].sort());
    expect(JSON.stringify(bundle).match(/<svg/g)).toHaveLength(1);
    expect(bundle[VEGALITE_MIME]).toEqual(JSON.parse(JSON.stringify(spec)));
    expect((bundle[VEGALITE_MIME] as { $schema: string }).$schema).toBe("https://vega.github.io/schema/vega-lite/v5.json");
    expect(String(bundle["image/svg+xml"])).toMatch(/^<svg[\s\S]*segments_marks/);
    expect(bundle["text/plain"]).toBe("Branch paths — run-fixture — all 3 streams; bars are zone visits, marks are jumps");
  });

  it("every builder's result is a plain spec that is also displayable", async () => {
    for (const chart of [spec, jumpStatisticsChart(small), decisionTreeChart(small), tokenBudgetChart(small)]) {
      expect(isDisplayable(chart)).toBe(true);
      expect(Object.keys(chart)).not.toContain("mimeBundle");
      expect(JSON.stringify(chart)).not.toContain("function");
    }
    const shown = await spec[mimeBundle]();
    expect(shown["text/plain"]).toBe(bundle["text/plain"]);
  });

  it("renders an empty run without failing", async () => {
    const empty = deriveRun({ meta: metaFor(workflow, 0), workflow, streams: [] }, tokenizer);
    for (const chart of [branchPathChart(empty), jumpStatisticsChart(empty), decisionTreeChart(empty), tokenBudgetChart(empty)]) {
      const svg = await checked(chart);
      expect(allTexts(svg).join(" ")).toMatch(/0 streams|all 0 streams|over 0 streams/);
    }
  });
});
