import { describe, expect, it } from "vitest";
import { ByteTokenizer } from "../../forge/tokenizer/index.js";
import {
  DatasetError,
  pathId,
  pathsTable,
  readDatasetMetadata,
  recordBatchFromRows,
  sampleRows,
  samplesSchema,
  samplesTable,
} from "../../datasets/index.js";
import { emptyRun, sampleRun, workflow } from "./fixtures.js";
import { expectedPaths, expectedSamples } from "./expected.js";

/** Plain JS rows of an apache-arrow table (bigint → number for comparison). */
const rowsOf = (table: ReturnType<typeof samplesTable>) =>
  table.toArray().map((row) => Object.fromEntries(Object.entries(row.toJSON()).map(([k, v]) => [k, typeof v === "bigint" ? Number(v) : v])));

describe("path ids", () => {
  it("are the sequence-level path, ignoring step ranges", () => {
    const run = sampleRun();
    expect(run.paths.map(pathId)).toEqual([
      "intro > refine > final",
      "intro > refine > refine > final",
      "intro > refine > final",
      "intro > refine > refine > refine > final",
      "intro",
    ]);
    const shifted = run.paths[0]!.map((s) => ({ ...s, stepStart: s.stepStart + 3, stepEnd: s.stepEnd + 5 }));
    expect(pathId(shifted)).toBe(pathId(run.paths[0]!));
    expect(pathId([])).toBe("");
  });
});

describe("samplesTable", () => {
  it("has the explicit schema", () => {
    const table = samplesTable(sampleRun());
    expect(table.schema.fields.map((f) => `${f.name}:${String(f.type)}:${f.nullable}`)).toEqual([
      "run_id:Utf8:false",
      "stream:Int32:false",
      "extraction:Utf8:false",
      "text:Utf8:false",
      "token_count:Int32:true",
      "path_id:Utf8:false",
      "status:Utf8:true",
      "seed:Int64:false",
      "workflow_hash:Utf8:false",
      "backend:Utf8:false",
    ]);
  });

  it("has one row per stream and extraction, token counts from the trace", () => {
    const run = sampleRun();
    const ids = run.paths.map(pathId);
    expect(rowsOf(samplesTable(run))).toEqual(expectedSamples(ids));
  });

  it("carries the run metadata as JSON strings in the schema metadata", () => {
    const run = sampleRun();
    const { metadata } = samplesTable(run).schema;
    expect(metadata.get("forge.table")).toBe("samples");
    expect(metadata.get("runId")).toBe('"run-2026-11-26-a"');
    expect(metadata.get("seed")).toBe("1234567890123");
    expect(JSON.parse(metadata.get("sampling")!)).toEqual(run.meta.sampling);
    const read = readDatasetMetadata(samplesTable(run).schema);
    expect(read).toEqual({ table: "samples", version: 1, meta: run.meta, workflow });
  });

  it("counts tokens with a tokenizer or takes given counts", () => {
    const run = sampleRun();
    const byTokenizer = samplesTable(run, new ByteTokenizer()).getChild("token_count")!.toArray();
    const texts = [...sampleRows(run)].map((r) => r.text);
    expect(Array.from(byTokenizer)).toEqual(texts.map((t) => new TextEncoder().encode(t).length));
    const given = samplesTable(run, { thoughts: [1, 2, 3, 4, 5], answer: [null, 7, 8, 9, 10] });
    expect([...given.getChild("token_count")!]).toEqual([1, null, 2, 7, 3, 8, 4, 9, 5, 10]);
  });

  it("leaves the token count null for an extraction the workflow does not declare", () => {
    const run = sampleRun();
    run.extractions.extra = ["x", "y", "z", "w", "v"];
    const rows = [...sampleRows(run)].filter((r) => r.extraction === "extra");
    expect(rows.map((r) => r.token_count)).toEqual([null, null, null, null, null]);
    expect(samplesTable(run).numRows).toBe(15);
  });

  it("handles a run with no streams", () => {
    const table = samplesTable(emptyRun());
    expect(table.numRows).toBe(0);
    expect(table.schema.fields).toHaveLength(10);
    expect(table.schema.metadata.get("runId")).toBe('"empty"');
  });
});

describe("pathsTable", () => {
  it("has one row per path segment with its step range", () => {
    const run = sampleRun();
    const table = pathsTable(run);
    expect(table.schema.fields.map((f) => String(f.type))).toEqual([
      "Utf8", "Int32", "Utf8", "Int32", "Int32", "Int32", "Utf8", "Int32", "Int32", "Int32", "Int32", "Bool",
    ]);
    expect(rowsOf(table)).toEqual(expectedPaths(run.paths.map(pathId)));
    expect(table.numRows).toBe(6 + 8 + 6 + 10 + 2);
  });
});

describe("bad input", () => {
  it("names the extraction whose length disagrees with the streams", () => {
    const run = sampleRun();
    run.extractions.answer!.pop();
    expect(() => samplesTable(run)).toThrow(new DatasetError("run run-2026-11-26-a", 'extraction "answer" has 4 texts for 5 streams'));
  });

  it("names the missing paths and a bad seed", () => {
    const run = sampleRun();
    run.paths = [];
    expect(() => pathsTable(run)).toThrow(/run\.paths has 0 paths for 5 streams/);
    const seeded = sampleRun();
    seeded.meta.seed = 1.5;
    expect(() => samplesTable(seeded)).toThrow(/meta\.seed must be an integer, got 1\.5/);
  });

  it("names a missing or short tokenCounts entry", () => {
    expect(() => samplesTable(sampleRun(), { thoughts: [1, 2, 3, 4, 5] })).toThrow(/tokenCounts has no entry for extraction "answer"/);
    expect(() => samplesTable(sampleRun(), { thoughts: [1], answer: [1, 2, 3, 4, 5] })).toThrow(/tokenCounts\["thoughts"\] has 1 counts for 5 streams/);
  });

  it("names the row and field of a bad value", () => {
    const rows = [...sampleRows(sampleRun())];
    (rows[3] as unknown as Record<string, unknown>).stream = "1";
    expect(() => recordBatchFromRows(samplesSchema(), rows, "samples")).toThrow(
      new DatasetError('samples row 3, field "stream"', 'expected an integer (Int32), got "1"'),
    );
    (rows[3] as unknown as Record<string, unknown>).stream = 1;
    (rows[5] as unknown as Record<string, unknown>).text = undefined;
    expect(() => recordBatchFromRows(samplesSchema(), rows, "samples", 100)).toThrow(/samples row 105, field "text": is required \(Utf8\)/);
  });
});
