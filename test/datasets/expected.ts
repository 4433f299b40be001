/**
 * The rows the fixture run must produce, written out by hand (not by the code under test),
 * and the dtypes an independent reader must see.
 */
import type { PathRow, SampleRow } from "../../datasets/index.js";
import { sampleRun } from "./fixtures.js";

/** Path ids are checked separately (equalities and format); here a placeholder per stream. */
export function expectedSamples(pathIds: string[]): SampleRow[] {
  const common = { run_id: "run-2026-11-26-a", seed: 1234567890123, workflow_hash: "wf-9f3a", backend: "cpu" };
  const row = (stream: number, extraction: string, text: string, token_count: number, status: SampleRow["status"]): SampleRow => ({
    run_id: common.run_id,
    stream,
    extraction,
    text,
    token_count,
    path_id: pathIds[stream]!,
    status,
    seed: common.seed,
    workflow_hash: common.workflow_hash,
    backend: common.backend,
  });
  return [
    row(0, "thoughts", "Let me think… 🤔", 13, "done"),
    row(0, "answer", "42", 9, "done"),
    row(1, "thoughts", 'first\nsecond "quoted"', 13, "done"),
    row(1, "answer", "Zweiundvierzig — ß", 1, "done"),
    row(2, "thoughts", "", 13, "timeout"),
    row(2, "answer", "<script>alert(1)</script>", 9, "timeout"),
    row(3, "thoughts", "a<b & c>d", 8, "done"),
    row(3, "answer", "", 0, "done"),
    row(4, "thoughts", "cut off mid-", 64, "truncated"),
    row(4, "answer", "", 0, "truncated"),
  ];
}

export const SAMPLE_DTYPES = ["String", "Int32", "String", "String", "Int32", "String", "String", "Int64", "String", "String"];
export const PATH_DTYPES = ["String", "Int32", "String", "Int32", "Int32", "Int32", "String", "Int32", "Int32", "Int32", "Int32", "Bool"];
/** What JSON Lines can say: integers are i64, no Int32. */
export const SAMPLE_JSONL_DTYPES = SAMPLE_DTYPES.map((t) => (t === "Int32" ? "Int64" : t));
export const PATH_JSONL_DTYPES = PATH_DTYPES.map((t) => (t === "Int32" ? "Int64" : t));

/** Path rows of the fixture, derived from its paths field by field (segments are hand-built there). */
export function expectedPaths(pathIds: string[]): PathRow[] {
  const run = sampleRun();
  return run.paths.flatMap((path, stream) =>
    path.map((s, segment) => ({
      run_id: "run-2026-11-26-a",
      stream,
      path_id: pathIds[stream]!,
      segment,
      step_start: s.stepStart,
      step_end: s.stepEnd,
      sequence: s.sequence,
      block: s.block,
      zone: s.zone,
      zone_id: s.zoneId,
      repetition: s.repetition,
      jumped: s.jumped,
    })),
  );
}
