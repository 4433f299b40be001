/**
 * decisionChart and compareChart: valid Vega-Lite 5 and 6, compiled without warnings,
 * rendered by vega; the marks say what the decisions say. The runs are the chart fixtures
 * (hand-written traces) with decision records laid on them — this is about the charts' logic;
 * the records themselves are tested on a real model in test/forge/instruments.
 */
import { describe, expect, it } from "vitest";
import { compile } from "vega-lite";
import { deriveRun, type Run } from "../../forge/run/index.js";
import { ByteTokenizer } from "../../forge/tokenizer/byte.js";
import { compareChart, decisionChart, renderSvg, VizError } from "../../viz/index.js";
import { loopWhenWorkflow as workflow, metaFor, SETUP, traceOf, walk } from "../fixtures/runs/workflow.js";
import { allTexts, markCount, schemaErrors } from "./svg.js";

const tokenizer = new ByteTokenizer();
const run: Run = deriveRun(
  {
    meta: metaFor(workflow, 3),
    workflow,
    streams: [traceOf(workflow, tokenizer, 0, walk(1, "yes"), "done"), traceOf(workflow, tokenizer, 1, walk(3, "no"), "done"), traceOf(workflow, tokenizer, 2, [...SETUP], "truncated")],
  },
  tokenizer,
);
const site = workflow.zones.findIndex((z) => z.jump !== null);
run.decisions = [
  { instance: 0, zoneId: site, visit: 0, step: 10, pJump: 0.05, pPath: null, outcome: "no_jump", taken: false },
  { instance: 0, zoneId: site, visit: 1, step: 30, pJump: 0.92, pPath: 0.4, outcome: "jump", taken: true },
  { instance: 1, zoneId: site, visit: 0, step: 10, pJump: 0.12, pPath: null, outcome: "no_jump", taken: false },
  { instance: 1, zoneId: site, visit: 1, step: 30, pJump: 0.15, pPath: null, outcome: "no_jump", taken: false },
  { instance: 1, zoneId: site, visit: 2, step: 50, pJump: 0.88, pPath: null, outcome: "forced_exit", taken: false },
];

async function checked(spec: ReturnType<typeof decisionChart>): Promise<string> {
  expect(schemaErrors(spec, "v5")).toEqual([]);
  expect(schemaErrors(spec)).toEqual([]);
  const warnings: string[] = [];
  const collect = (...args: unknown[]) => void warnings.push(args.join(" "));
  const logger = { level: () => logger, error: collect, warn: collect, info: () => logger, debug: () => logger };
  compile(spec, { logger: logger as never });
  expect(warnings).toEqual([]);
  const svg = await renderSvg(spec);
  expect(svg.startsWith("<svg")).toBe(true);
  return svg;
}

describe("decisionChart", () => {
  it("draws pJump by visit, survival by visit and calibration bins", async () => {
    const svg = await checked(decisionChart(run));
    const texts = allTexts(svg);
    expect(texts).toEqual(expect.arrayContaining(["Streams still visiting the site", "Calibration: pJump against the observed rate of emitting the pattern"]));
    // Bins 0.0–0.1, 0.1–0.2 and 0.8–0.9, 0.9–1.0 hold visits: four calibration points.
    expect(markCount(svg, "calibration_bins")).toBe(4);
    expect(texts.join(" ")).toContain("3 streams, 5 visits with a sampled token");
  });

  it("says what pJump is: the walked-path estimate, exact, or how many of each in a mixed run", async () => {
    const estimate = allTexts(await checked(decisionChart(run))).join(" ");
    expect(estimate).toContain("pJump estimated along the walked path");
    expect(estimate).toContain("pJump (walked-path estimate)");
    expect(estimate).not.toContain("exact:");
    const exactRun: Run = { ...run, decisions: run.decisions!.map((d) => ({ ...d, exact: true })) };
    const exact = allTexts(await checked(decisionChart(exactRun))).join(" ");
    expect(exact).toContain("pJump exact: the control pattern's probability summed over its accepted tokenizations");
    expect(exact).toContain("pJump (exact)");
    expect(exact).not.toContain("walked path");
    const mixedRun: Run = { ...run, decisions: run.decisions!.map((d, i) => ({ ...d, exact: i < 3 })) };
    const mixed = allTexts(await checked(decisionChart(mixedRun))).join(" ");
    expect(mixed).toContain("pJump mixed: exact for 3 visits, estimated along the walked path for 2");
    expect(mixed).toContain("pJump (exact or estimate)");
  });

  it("says how to get decisions when the run has none", async () => {
    const plain = { ...run, decisions: undefined };
    const svg = await checked(decisionChart(plain));
    expect(allTexts(svg).join(" ")).toContain("run the request with { logprobs: true }");
  });
});

describe("compareChart", () => {
  it("puts each replayed stream's path under its original's and marks the forced step", async () => {
    const replayed: Run = { ...run, streams: [run.streams[1]!], paths: [run.paths[0]!], meta: { ...run.meta, runId: "replay-1", replayOf: { runId: run.meta.runId, streams: [{ instance: 1, step: 30, force: "[Jump]" }] } } };
    const svg = await checked(compareChart(run, replayed));
    expect(allTexts(svg).join(" ")).toContain('#1 ← "[Jump]" @30');
  });

  it("labels two replays of one instance apart, in the order asked", async () => {
    const specs = [{ instance: 1, step: 30, force: "[Jump]" }, { instance: 1, step: 12, force: "No." }];
    const replayed: Run = { ...run, streams: [run.streams[1]!, run.streams[1]!], paths: [run.paths[0]!, run.paths[1]!], meta: { ...run.meta, runId: "replay-2", replayOf: { runId: run.meta.runId, streams: specs } } };
    const texts = allTexts(await checked(compareChart(run, replayed))).join(" ");
    expect(texts).toContain('#1 ← "[Jump]" @30');
    expect(texts).toContain('#1 ← "No." @12');
  });

  it("refuses a run that is not a replay of the original", () => {
    expect(() => compareChart(run, run)).toThrow(VizError);
    const other: Run = { ...run, meta: { ...run.meta, replayOf: { runId: "someone-else", streams: [] } } };
    expect(() => compareChart(run, other)).toThrow(/the replay is of run/);
  });
});
