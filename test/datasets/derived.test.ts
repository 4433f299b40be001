/**
 * A run made by forge/run's deriveRun (traces walked through the loop + when fixture,
 * extractions decoded by the byte tokenizer), exported and read back by polars.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pathSignature } from "../../forge/run/index.js";
import { ByteTokenizer } from "../../forge/tokenizer/index.js";
import { exportRun, readDatasetMetadata, readArrow } from "../../datasets/index.js";
import { largeRun } from "../fixtures/runs/large.js";
import { polarsReadIpcFile, polarsReadIpcStream, polarsReadJsonl } from "./polars.js";

describe("a derived 512-stream run", () => {
  const run = largeRun();
  const dir = mkdtempSync(join(tmpdir(), "forge-derived-"));

  it("exports every extraction of every stream, path ids and token counts included", async () => {
    const result = await exportRun(run, { dir, tokenCounts: new ByteTokenizer(), batchRows: 100 });
    const names = ["training_data", "verdicts"];
    expect(result.rows.samples).toBe(512 * names.length);
    expect(readArrow(result.files.samples.arrow!).batches).toHaveLength(11);

    const expected = run.streams.flatMap((trace, k) =>
      names.map((name) => {
        const text = run.extractions[name]![k]!;
        return {
          stream: trace.instance,
          extraction: name,
          text,
          token_count: Buffer.byteLength(text, "utf8"),
          path_id: pathSignature(run.paths[k]!),
          status: trace.status,
        };
      }),
    );
    const frames = [
      polarsReadIpcFile(result.files.samples.arrow!),
      polarsReadIpcStream(readFileSync(result.files.samples.arrows!)),
      polarsReadJsonl(result.files.samples.jsonl!),
    ];
    for (const frame of frames) {
      const picked = frame.rows.map(({ stream, extraction, text, token_count, path_id, status }) => ({ stream, extraction, text, token_count, path_id, status }));
      expect(picked).toEqual(expected);
      expect(new Set(frame.rows.map((r) => r.run_id))).toEqual(new Set(["large-fixture"]));
    }
    // The fixture mixes loop counts and branches: several distinct paths, and truncated streams.
    expect(new Set(expected.map((r) => r.path_id)).size).toBeGreaterThan(4);
    expect(expected.filter((r) => r.status === "truncated").length / 2).toBe(run.statistics.status.truncated);
  });

  it("exports every path segment with its step range", async () => {
    const result = await exportRun(run, { dir, formats: ["arrow"], name: "paths-only" });
    const frame = polarsReadIpcFile(result.files.paths.arrow!);
    const expected = run.paths.flatMap((path, k) =>
      path.map((s, segment) => ({ stream: run.streams[k]!.instance, segment, step_start: s.stepStart, step_end: s.stepEnd, zone_id: s.zoneId, jumped: s.jumped })),
    );
    expect(frame.rows.map(({ stream, segment, step_start, step_end, zone_id, jumped }) => ({ stream, segment, step_start, step_end, zone_id, jumped }))).toEqual(expected);
    expect(readDatasetMetadata(readArrow(result.files.paths.arrow!).schema).meta).toEqual(run.meta);
  });
});
