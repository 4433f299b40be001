import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Bool, Field, Float64, Int32, List, Table, Utf8, vectorFromArray } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { isDisplayable, mimeBundle } from "../../forge/display.js";
import { exportRun, exportTable, pathId, preview, readArrow, readDatasetMetadata, samplesTable, tableFromRows } from "../../datasets/index.js";
import { emptyRun, sampleRun } from "./fixtures.js";
import { expectedPaths, expectedSamples, SAMPLE_DTYPES } from "./expected.js";
import { polarsReadIpcFile, polarsReadIpcStream, polarsReadJsonl } from "./polars.js";

const tmp = () => mkdtempSync(join(tmpdir(), "forge-export-"));

describe("exportRun", () => {
  it("writes samples and paths in every format and returns the files", async () => {
    const dir = join(tmp(), "nested", "out");
    const run = sampleRun();
    const ids = run.paths.map(pathId);
    const result = await exportRun(run, { dir, batchRows: 4 });
    expect(result.rows).toEqual({ samples: 10, paths: 32 });
    expect(result.files.samples).toEqual({
      arrow: join(dir, "run-2026-11-26-a.samples.arrow"),
      arrows: join(dir, "run-2026-11-26-a.samples.arrows"),
      jsonl: join(dir, "run-2026-11-26-a.samples.jsonl"),
    });
    expect(readdirSync(dir).sort()).toHaveLength(6);
    expect(polarsReadIpcFile(result.files.samples.arrow!).rows).toEqual(expectedSamples(ids));
    expect(polarsReadIpcStream(readFileSync(result.files.samples.arrows!)).rows).toEqual(expectedSamples(ids));
    expect(polarsReadJsonl(result.files.samples.jsonl!).rows).toEqual(expectedSamples(ids));
    expect(polarsReadIpcFile(result.files.paths.arrow!).rows).toEqual(expectedPaths(ids));
    expect(readDatasetMetadata(readArrow(result.files.paths.arrows!).schema)).toMatchObject({ table: "paths", meta: run.meta });
  });

  it("writes only the formats asked, under a safe name", async () => {
    const dir = tmp();
    const run = sampleRun();
    run.meta.runId = "runs/2026 11:26";
    const result = await exportRun(run, { dir, formats: ["arrow"] });
    expect(result.files).toEqual({ samples: { arrow: join(dir, "runs_2026_11_26.samples.arrow") }, paths: { arrow: join(dir, "runs_2026_11_26.paths.arrow") } });
    expect(readdirSync(dir)).toHaveLength(2);
  });

  it("exports a run with no streams", async () => {
    const dir = tmp();
    const result = await exportRun(emptyRun(), { dir, formats: ["arrow", "jsonl"] });
    expect(result.rows).toEqual({ samples: 0, paths: 0 });
    expect(polarsReadIpcFile(result.files.samples.arrow!).dtypes).toEqual(SAMPLE_DTYPES);
    expect(readFileSync(result.files.paths.jsonl!, "utf8")).toBe("");
  });

  it("refuses a bad format or a malformed run before writing anything", async () => {
    const dir = join(tmp(), "out");
    await expect(exportRun(sampleRun(), { dir, formats: ["parquet" as never] })).rejects.toThrow(/exportRun: unknown format "parquet"/);
    const run = sampleRun();
    run.extractions.thoughts!.length = 2;
    await expect(exportRun(run, { dir })).rejects.toThrow(/run run-2026-11-26-a: extraction "thoughts" has 2 texts for 5 streams/);
    expect(existsSync(dir)).toBe(false);
  });
});

describe("preview", () => {
  it("is displayable: a summary line and an escaped HTML table of the first 20 rows", async () => {
    const run = sampleRun();
    const view = preview(samplesTable(run));
    expect(isDisplayable(view)).toBe(true);
    const bundle = await view[mimeBundle]();
    expect(bundle["text/plain"]).toBe(
      "samples: 10 rows × 10 columns (run_id: Utf8, stream: Int32, extraction: Utf8, text: Utf8, token_count: Int32, " +
        "path_id: Utf8, status: Utf8, seed: Int64, workflow_hash: Utf8, backend: Utf8)",
    );
    const html = bundle["text/html"] as string;
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).not.toContain("<script>");
    expect(html).toContain("<td>a&lt;b &amp; c&gt;d</td>");
    expect(html).toContain("<td>1234567890123</td>");
    expect(html.match(/<tr>/g)).toHaveLength(11); // header + 10 rows
    expect(String(view)).toBe(bundle["text/plain"]);
  });

  it("is built into the tables this module makes and reads", async () => {
    const dir = tmp();
    const table = samplesTable(sampleRun());
    expect(isDisplayable(table)).toBe(true);
    const result = await exportRun(sampleRun(), { dir, formats: ["arrow"] });
    const back = readArrow(result.files.samples.arrow!);
    expect(isDisplayable(back)).toBe(true);
    if (!isDisplayable(back)) return;
    expect((await back[mimeBundle]())["text/plain"]).toMatch(/^samples: 10 rows × 10 columns/);
    // Not enumerable: the table's own fields and iteration are unchanged.
    expect(Object.getOwnPropertyDescriptor(table, mimeBundle)?.enumerable).toBe(false);
  });

  it("shows at most 20 rows and says how many more", async () => {
    const rows = Array.from({ length: 45 }, (_, i) => ({ ...[...samplesTable(sampleRun()).toArray()][0]!.toJSON(), stream: i }));
    const table = tableFromRows("samples", rows);
    const html = (await preview(table)[mimeBundle]())["text/html"] as string;
    expect(html.match(/<tr>/g)).toHaveLength(21);
    expect(html).toContain("… 25 more rows");
  });
});

describe("exportTable (the agents' datasets.export)", () => {
  // A table from elsewhere: not our schema, with Float64 and a List column our row writers do not build.
  const table = new Table({
    stream: vectorFromArray([0, 1, 2], new Int32()),
    training_data: vectorFromArray(["a", null, "ü\n🤔"], new Utf8()),
    score: vectorFromArray([0.5, -1.25, 3], new Float64()),
    ok: vectorFromArray([true, false, true], new Bool()),
    tags: vectorFromArray([["x"], [], ["y", "z"]], new List(new Field("item", new Utf8(), true))),
  });
  const expected = [
    { stream: 0, training_data: "a", score: 0.5, ok: true, tags: ["x"] },
    { stream: 1, training_data: null, score: -1.25, ok: false, tags: [] },
    { stream: 2, training_data: "ü\n🤔", score: 3, ok: true, tags: ["y", "z"] },
  ];

  it("writes any table in the format named or implied by the extension", async () => {
    const dir = tmp();
    const arrow = await exportTable(table, { path: join(dir, "t.arrow") });
    expect(arrow).toMatchObject({ path: join(dir, "t.arrow"), rows: 3 });
    const file = polarsReadIpcFile(arrow.path);
    expect(file.dtypes).toEqual(["Int32", "String", "Float64", "Bool", "List"]);
    expect(file.rows).toEqual(expected);
    await exportTable(table, { path: join(dir, "t.out"), format: "stream" });
    expect(polarsReadIpcStream(readFileSync(join(dir, "t.out"))).rows).toEqual(expected);
    await exportTable(table, { path: join(dir, "t.jsonl") });
    const jsonl = polarsReadJsonl(join(dir, "t.jsonl"));
    expect(jsonl.dtypes).toEqual(["Int64", "String", "Float64", "Bool", "List"]);
    expect(jsonl.rows).toEqual(expected);
  });

  it("names an unsupported format", async () => {
    await expect(exportTable(table, { path: join(tmp(), "t.parquet"), format: "parquet" })).rejects.toThrow(/t\.parquet: unknown format "parquet"/);
  });
});
