/**
 * From a Run to table rows: one sample row per (stream, extraction), one path row per
 * segment of each stream's branch path. Rows are produced lazily, stream by stream, so the
 * streaming writer never holds more than one record batch of them.
 *
 * Alignment: `run.streams[k]`, `run.paths[k]` and `run.extractions[name][k]` describe the
 * same stream (instance order, forge/run/types.ts); the `stream` column is
 * `run.streams[k].instance`.
 */
import { pathSignature, type PathSegment, type Run } from "../forge/run/index.js";
import { DatasetError } from "./errors.js";
import type { PathRow, SampleRow } from "./schema.js";

/**
 * The path id: the stream's sequence-level branch path, `pathSignature` of forge/run —
 * the sequences visited in order, a loop's every iteration and each branch taken counted
 * as one visit, e.g. `"setup > control > reasoning > control > decide > yes"`. Streams
 * with the same id took the same branches; step ranges (how many tokens each stretch
 * took) and where inside a sequence a truncated stream stopped do not matter. It is the
 * grouping viz's decision tree draws, readable as it stands, and it depends only on the
 * path, so ids agree across runs of one workflow (join on workflow_hash + path_id).
 * A stream with an empty path (no tokens) has the id "".
 */
export function pathId(path: readonly PathSegment[]): string {
  return pathSignature(path as PathSegment[]);
}

/**
 * Where sample token counts come from.
 * - omitted: counted from the trace — tokens (forced or generated) emitted in a zone that
 *   carries one of the extraction's tags, zone patterns included; null when the
 *   extraction is not in the workflow.
 * - a tokenizer (anything with `encode`, e.g. a ForgeTokenizer): the extracted text re-encoded.
 * - extraction name → per-stream counts, as computed elsewhere.
 */
export type TokenCountSource =
  | { encode(text: string): ArrayLike<number> }
  | Record<string, ArrayLike<number | null>>;

/** Number of streams in a run, after checking that streams, paths and extractions agree. */
export function checkRunShape(run: Run): number {
  const where = `run ${run.meta?.runId ?? "(no meta)"}`;
  if (!run.meta) throw new DatasetError(where, "run has no meta (RunMetadata)");
  const streams = run.streams.length;
  if (run.paths.length !== streams) {
    throw new DatasetError(where, `run.paths has ${run.paths.length} paths for ${streams} streams`);
  }
  for (const [name, texts] of Object.entries(run.extractions)) {
    if (texts.length !== streams) {
      throw new DatasetError(where, `extraction "${name}" has ${texts.length} texts for ${streams} streams`);
    }
  }
  if (!Number.isSafeInteger(run.meta.seed)) {
    throw new DatasetError(where, `meta.seed must be an integer, got ${String(run.meta.seed)}`);
  }
  return streams;
}

/** Extraction names in a stable order: the workflow's order, then any others by name. */
export function extractionNames(run: Run): string[] {
  const declared = run.workflow.extractions.map((e) => e.name).filter((n) => n in run.extractions);
  const others = Object.keys(run.extractions).filter((n) => !declared.includes(n)).sort();
  return [...declared, ...others];
}

/** Per-extraction function (stream index, text) → token count. */
function tokenCounter(run: Run, names: string[], source?: TokenCountSource): Map<string, (k: number, text: string) => number | null> {
  const counters = new Map<string, (k: number, text: string) => number | null>();
  const where = `run ${run.meta.runId}`;
  if (source && typeof (source as { encode?: unknown }).encode === "function") {
    const tokenizer = source as { encode(text: string): ArrayLike<number> };
    for (const name of names) counters.set(name, (_k, text) => tokenizer.encode(text).length);
    return counters;
  }
  if (source) {
    const table = source as Record<string, ArrayLike<number | null>>;
    for (const name of names) {
      const counts = table[name];
      if (!counts) throw new DatasetError(where, `tokenCounts has no entry for extraction "${name}"`);
      if (counts.length !== run.streams.length) {
        throw new DatasetError(where, `tokenCounts["${name}"] has ${counts.length} counts for ${run.streams.length} streams`);
      }
      counters.set(name, (k) => counts[k] ?? null);
    }
    return counters;
  }
  // From the trace: a membership mask over zones per extraction, then one pass over pcs.
  const zones = run.workflow.zones;
  for (const name of names) {
    const extraction = run.workflow.extractions.find((e) => e.name === name);
    if (!extraction) {
      counters.set(name, () => null);
      continue;
    }
    const inExtraction = new Uint8Array(zones.length);
    zones.forEach((zone, id) => {
      if (zone.tags.some((tag) => extraction.tags.includes(tag))) inExtraction[id] = 1;
    });
    counters.set(name, (k) => {
      const pcs = run.streams[k]!.pcs;
      let count = 0;
      for (let step = 0; step < pcs.length; step++) count += inExtraction[pcs[step]!] ?? 0;
      return count;
    });
  }
  return counters;
}

/** Sample rows, stream-major (stream 0's extractions, then stream 1's, …). */
export function* sampleRows(run: Run, tokenCounts?: TokenCountSource): Generator<SampleRow> {
  const streams = checkRunShape(run);
  const names = extractionNames(run);
  const counters = tokenCounter(run, names, tokenCounts);
  const { runId, seed, workflowHash, backend } = run.meta;
  for (let k = 0; k < streams; k++) {
    const trace = run.streams[k]!;
    const path_id = pathId(run.paths[k]!);
    for (const name of names) {
      const text = run.extractions[name]![k]!;
      yield {
        run_id: runId,
        stream: trace.instance,
        extraction: name,
        text,
        token_count: counters.get(name)!(k, text),
        path_id,
        status: trace.status ?? null,
        seed,
        workflow_hash: workflowHash,
        backend,
      };
    }
  }
}

/** Path rows: every segment of every stream's branch path, in stream then segment order. */
export function* pathRows(run: Run): Generator<PathRow> {
  const streams = checkRunShape(run);
  const { runId } = run.meta;
  for (let k = 0; k < streams; k++) {
    const path = run.paths[k]!;
    const path_id = pathId(path);
    const stream = run.streams[k]!.instance;
    for (let i = 0; i < path.length; i++) {
      const s = path[i]!;
      yield {
        run_id: runId,
        stream,
        path_id,
        segment: i,
        step_start: s.stepStart,
        step_end: s.stepEnd,
        sequence: s.sequence,
        block: s.block,
        zone: s.zone,
        zone_id: s.zoneId,
        repetition: s.repetition,
        jumped: s.jumped,
      };
    }
  }
}
