import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DatasetError,
  pathId,
  pathsTable,
  readArrow,
  readArrowBatches,
  readDatasetMetadata,
  RunExportWriter,
  sampleRows,
  samplesTable,
  writeArrowFile,
  writeArrowStream,
  writeJsonl,
  type SampleRow,
} from "../../datasets/index.js";
import { emptyRun, sampleRun } from "./fixtures.js";
import { expectedPaths, expectedSamples, PATH_DTYPES, PATH_JSONL_DTYPES, SAMPLE_DTYPES, SAMPLE_JSONL_DTYPES } from "./expected.js";
import { polarsReadIpcFile, polarsReadIpcStream, polarsReadJsonl } from "./polars.js";

const tmp = () => mkdtempSync(join(tmpdir(), "forge-datasets-"));
const SAMPLE_COLUMNS = ["run_id", "stream", "extraction", "text", "token_count", "path_id", "status", "seed", "workflow_hash", "backend"];

async function collect(stream: PassThrough): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe("whole-table writers, read back by polars", () => {
  const run = sampleRun();
  const ids = run.paths.map(pathId);

  it("Arrow IPC file: every row and dtype of samples and paths", async () => {
    const dir = tmp();
    const written = await writeArrowFile(samplesTable(run), join(dir, "s.arrow"));
    expect(written).toMatchObject({ rows: 10, batches: 1 });
    expect(written.bytes).toBe(statSync(join(dir, "s.arrow")).size);
    const samples = polarsReadIpcFile(join(dir, "s.arrow"));
    expect(samples.columns).toEqual(SAMPLE_COLUMNS);
    expect(samples.dtypes).toEqual(SAMPLE_DTYPES);
    expect(samples.rows).toEqual(expectedSamples(ids));

    await writeArrowFile(pathsTable(run), join(dir, "p.arrow"));
    const paths = polarsReadIpcFile(join(dir, "p.arrow"));
    expect(paths.dtypes).toEqual(PATH_DTYPES);
    expect(paths.rows).toEqual(expectedPaths(ids));
  });

  it("Arrow IPC stream, to a file and to a Writable", async () => {
    const dir = tmp();
    await writeArrowStream(samplesTable(run), join(dir, "s.arrows"));
    const fromFile = polarsReadIpcStream(readFileSync(join(dir, "s.arrows")));
    expect(fromFile.dtypes).toEqual(SAMPLE_DTYPES);
    expect(fromFile.rows).toEqual(expectedSamples(ids));

    const pipe = new PassThrough();
    const [bytes, written] = await Promise.all([collect(pipe), writeArrowStream(pathsTable(run), pipe)]);
    expect(written.bytes).toBe(bytes.length);
    const paths = polarsReadIpcStream(bytes);
    expect(paths.dtypes).toEqual(PATH_DTYPES);
    expect(paths.rows).toEqual(expectedPaths(ids));
  });

  it("JSON Lines from a table and from rows", async () => {
    const dir = tmp();
    await writeJsonl(samplesTable(run), join(dir, "s.jsonl"));
    const samples = polarsReadJsonl(join(dir, "s.jsonl"));
    expect(samples.columns).toEqual(SAMPLE_COLUMNS);
    expect(samples.dtypes).toEqual(SAMPLE_JSONL_DTYPES);
    expect(samples.rows).toEqual(expectedSamples(ids));
    // One JSON object per line, even with newlines inside the text.
    expect(readFileSync(join(dir, "s.jsonl"), "utf8").trimEnd().split("\n")).toHaveLength(10);

    await writeJsonl(sampleRows(run), join(dir, "rows.jsonl"));
    expect(readFileSync(join(dir, "rows.jsonl"), "utf8")).toBe(readFileSync(join(dir, "s.jsonl"), "utf8"));

    await writeJsonl(pathsTable(run), join(dir, "p.jsonl"));
    const paths = polarsReadJsonl(join(dir, "p.jsonl"));
    expect(paths.dtypes).toEqual(PATH_JSONL_DTYPES);
    expect(paths.rows).toEqual(expectedPaths(ids));
  });

  it("writes a table concatenated from two runs as one file", async () => {
    const dir = tmp();
    const other = sampleRun();
    other.meta.runId = "run-b";
    const both = samplesTable(run).concat(samplesTable(other));
    expect(await writeArrowFile(both, join(dir, "both.arrow"))).toMatchObject({ rows: 20, batches: 2 });
    const frame = polarsReadIpcFile(join(dir, "both.arrow"));
    expect(frame.rows).toEqual([...expectedSamples(ids), ...expectedSamples(ids).map((r) => ({ ...r, run_id: "run-b" }))]);
    // The file's schema (and its metadata) is the first table's.
    expect(readArrow(join(dir, "both.arrow")).schema.metadata.get("runId")).toBe('"run-2026-11-26-a"');
  });

  it("keeps the run metadata in the written schema", async () => {
    const dir = tmp();
    await writeArrowFile(samplesTable(run), join(dir, "s.arrow"));
    await writeArrowStream(samplesTable(run), join(dir, "s.arrows"));
    for (const file of ["s.arrow", "s.arrows"]) {
      const read = readDatasetMetadata(readArrow(join(dir, file)).schema);
      expect(read.meta).toEqual(run.meta);
      expect(read.workflow).toEqual(run.workflow);
    }
  });
});

describe("a run with no streams", () => {
  it("writes valid empty files that keep the schema", async () => {
    const dir = tmp();
    const run = emptyRun();
    await writeArrowFile(samplesTable(run), join(dir, "s.arrow"));
    await writeArrowStream(pathsTable(run), join(dir, "p.arrows"));
    const samples = polarsReadIpcFile(join(dir, "s.arrow"));
    expect(samples.rows).toEqual([]);
    expect(samples.dtypes).toEqual(SAMPLE_DTYPES);
    const paths = polarsReadIpcStream(readFileSync(join(dir, "p.arrows")));
    expect(paths.rows).toEqual([]);
    expect(paths.dtypes).toEqual(PATH_DTYPES);
    expect(readArrow(join(dir, "s.arrow")).schema.metadata.get("runId")).toBe('"empty"');
    const jsonl = await writeJsonl(samplesTable(run), join(dir, "s.jsonl"));
    expect(jsonl.rows).toBe(0);
    expect(statSync(join(dir, "s.jsonl")).size).toBe(0);
  });

  it("streams empty files too", async () => {
    const dir = tmp();
    const writer = RunExportWriter.open(join(dir, "s.arrow"), { table: "samples", meta: emptyRun().meta });
    await writer.appendRun(emptyRun());
    expect(await writer.close()).toMatchObject({ rows: 0, batches: 0 });
    expect(polarsReadIpcFile(join(dir, "s.arrow")).dtypes).toEqual(SAMPLE_DTYPES);
  });
});

describe("RunExportWriter", () => {
  it("writes record batches as rows arrive, in every format", async () => {
    const dir = tmp();
    const run = sampleRun();
    const ids = run.paths.map(pathId);
    for (const format of ["arrow", "arrows", "jsonl"] as const) {
      const path = join(dir, `s.${format}`);
      const writer = RunExportWriter.open(path, { table: "samples", meta: run.meta, workflow: run.workflow, batchRows: 3 });
      expect(writer.format).toBe(format);
      await writer.appendRun(run);
      await writer.appendRun(run);
      const written = await writer.close();
      expect(written).toMatchObject({ path, rows: 20, batches: 7 });
      const frame =
        format === "arrow" ? polarsReadIpcFile(path) : format === "arrows" ? polarsReadIpcStream(readFileSync(path)) : polarsReadJsonl(path);
      expect(frame.rows).toEqual([...expectedSamples(ids), ...expectedSamples(ids)]);
      expect(frame.dtypes).toEqual(format === "jsonl" ? SAMPLE_JSONL_DTYPES : SAMPLE_DTYPES);
      if (format !== "jsonl") expect(readArrow(path).batches).toHaveLength(7);
    }
  });

  it("appends rows and writes paths to a Writable", async () => {
    const run = sampleRun();
    const pipe = new PassThrough();
    const writer = RunExportWriter.open(pipe, { table: "paths", format: "arrows", batchRows: 5 });
    const bytes = collect(pipe);
    await writer.appendRun(run);
    const { rows, batches } = await writer.close();
    expect([rows, batches]).toEqual([32, 7]);
    expect(polarsReadIpcStream(await bytes).rows).toEqual(expectedPaths(run.paths.map(pathId)));
  });

  it("waits for a slow Writable to drain between batches", async () => {
    const run = sampleRun();
    const pipe = new PassThrough({ highWaterMark: 1024 });
    let drains = 0;
    pipe.on("drain", () => drains++);
    // A slow reader: one chunk per timer tick.
    const bytes = (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of pipe) {
        chunks.push(chunk as Buffer);
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      return Buffer.concat(chunks);
    })();
    const writer = RunExportWriter.open(pipe, { table: "samples", format: "arrows", batchRows: 256 });
    for (let i = 0; i < 300; i++) await writer.appendRun(run);
    expect(await writer.close()).toMatchObject({ rows: 3000, batches: 12 });
    expect(drains).toBeGreaterThan(0);
    const frame = polarsReadIpcStream(await bytes);
    expect(frame.rows).toHaveLength(3000);
    expect(frame.rows.slice(2990)).toEqual(expectedSamples(run.paths.map(pathId)));
  });

  it("says which row and field is wrong at once, keeps the good rows, and refuses use after close", async () => {
    const dir = tmp();
    const writer = RunExportWriter.open(join(dir, "s.jsonl"), { table: "samples" });
    const row = [...sampleRows(sampleRun())][0]!;
    await expect(writer.appendRows([row, row, { ...row, seed: "7" } as unknown as SampleRow])).rejects.toThrow(
      new DatasetError('samples row 2, field "seed"', 'expected an integer (Int64), got "7"'),
    );
    await expect(writer.appendRows([{ ...row, stream: 2 ** 31 }])).rejects.toThrow(/samples row 2, field "stream": expected an integer \(Int32\), got 2147483648/);
    expect(await writer.close()).toMatchObject({ rows: 2, batches: 1 });
    expect(polarsReadJsonl(join(dir, "s.jsonl")).rows).toHaveLength(2);
    await expect(writer.appendRows([row])).rejects.toThrow(/RunExportWriter is closed/);
  });

  it("rejects a bad format, table or folder with the place named", () => {
    const dir = tmp();
    expect(() => RunExportWriter.open(join(dir, "x.arrow"), { table: "samples", format: "csv" as never })).toThrow(/x\.arrow: unknown format "csv"/);
    expect(() => RunExportWriter.open(join(dir, "x.arrow"), { table: "rows" as never })).toThrow(/unknown table "rows"/);
    expect(() => RunExportWriter.open(join(dir, "missing", "x.arrow"), { table: "paths" })).toThrow(/missing\/x\.arrow: cannot open for writing/);
    expect(() => RunExportWriter.open(join(dir, "x.arrow"), { table: "paths", batchRows: 0 })).toThrow(/batchRows must be a positive integer/);
  });
});

describe("readArrow", () => {
  it("reads files and bytes in both IPC formats", async () => {
    const dir = tmp();
    const table = samplesTable(sampleRun());
    await writeArrowFile(table, join(dir, "a.arrow"));
    await writeArrowStream(table, join(dir, "a.arrows"));
    for (const back of [readArrow(join(dir, "a.arrow")), readArrow(readFileSync(join(dir, "a.arrows")))]) {
      expect(back.numRows).toBe(10);
      expect(back.getChild("text")!.toArray()).toEqual(table.getChild("text")!.toArray());
      expect(back.getChild("seed")!.get(0)).toBe(1234567890123n);
    }
  });

  it("reads large files batch by batch, in both IPC formats", async () => {
    const dir = tmp();
    const run = sampleRun();
    for (const format of ["arrow", "arrows"] as const) {
      const path = join(dir, `b.${format}`);
      const writer = RunExportWriter.open(path, { table: "samples", meta: run.meta, batchRows: 4 });
      await writer.appendRun(run);
      await writer.close();
      const sizes: number[] = [];
      const texts: string[] = [];
      for await (const batch of readArrowBatches(path)) {
        sizes.push(batch.numRows);
        texts.push(...(batch.getChild("text")!.toArray() as string[]));
        expect(batch.schema.metadata.get("runId")).toBe('"run-2026-11-26-a"');
      }
      expect(sizes).toEqual([4, 4, 2]);
      expect(texts).toEqual(expectedSamples(run.paths.map(pathId)).map((r) => r.text));
    }
    const batches = readArrowBatches(join(dir, "nope.arrows"));
    await expect(batches.next()).rejects.toThrow(/nope\.arrows: cannot read: ENOENT/);
    await writeJsonl(samplesTable(run), join(dir, "s.jsonl"));
    await expect(readArrowBatches(join(dir, "s.jsonl")).next()).rejects.toThrow(/s\.jsonl: is not a readable Arrow IPC file or stream/);
  });

  it("says what is wrong with a missing or foreign file", async () => {
    const dir = tmp();
    expect(() => readArrow(join(dir, "nope.arrow"))).toThrow(/nope\.arrow: cannot read: ENOENT/);
    await writeJsonl(samplesTable(sampleRun()), join(dir, "s.jsonl"));
    expect(() => readArrow(join(dir, "s.jsonl"))).toThrow(/s\.jsonl: is not a readable Arrow IPC file or stream/);
    expect(() => readArrow(new Uint8Array())).toThrow(/Arrow bytes: is empty/);
  });
});

describe("random runs round-trip through polars", () => {
  // Arbitrary unicode texts (lone surrogates excluded: they are not valid UTF-8) and stream counts.
  const text = fc.string({ unit: "grapheme", maxLength: 40 });
  it("every row of every format", async () => {
    const dir = tmp();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(text, text), { maxLength: 12 }), fc.integer({ min: 1, max: 7 }), async (texts, batchRows) => {
        const base = sampleRun();
        const k = texts.length;
        const run = {
          ...base,
          streams: Array.from({ length: k }, (_, i) => ({ ...base.streams[i % 5]!, instance: i })),
          paths: Array.from({ length: k }, (_, i) => base.paths[i % 5]!),
          extractions: { thoughts: texts.map((t) => t[0]), answer: texts.map((t) => t[1]) },
        };
        const expected = [...sampleRows(run)].map((r) => ({ ...r, seed: Number(r.seed) }));
        const stem = join(dir, `r${n++}`);
        for (const format of ["arrow", "arrows", "jsonl"] as const) {
          const writer = RunExportWriter.open(`${stem}.${format}`, { table: "samples", meta: run.meta, batchRows });
          await writer.appendRun(run);
          await writer.close();
        }
        expect(polarsReadIpcFile(`${stem}.arrow`).rows).toEqual(expected);
        expect(polarsReadIpcStream(readFileSync(`${stem}.arrows`)).rows).toEqual(expected);
        if (k > 0) expect(polarsReadJsonl(`${stem}.jsonl`).rows).toEqual(expected);
      }),
      { numRuns: 40 },
    );
  });
});
