/**
 * The research instruments' tables (forge/instruments): one row per token of every stream —
 * with its log-probabilities when the run has them — and one row per decision at a jump site.
 * Whole-run tables in memory, like samplesTable; write them with exportTable (Arrow IPC file,
 * stream, or JSON Lines, where NaN becomes null).
 *
 *   tokens     run_id, stream, step, token[, text], zone_id, forced, logprob, sampling_logprob, hazard[, top_ids, top_logprobs]
 *   decisions  run_id, stream, zone_id, site, visit, step, p_jump, exact, p_path, outcome, taken
 *              (exact: p_jump is exact over the pattern's tokenizations, else the walked-path estimate)
 */
import { Bool, Field, Float32, Float64, Int32, List, makeVector, Schema, Table, Utf8, vectorFromArray, type DataType, type Vector } from "apache-arrow";
import type { Run } from "../forge/run/index.js";
import { DatasetError } from "./errors.js";
import { withDisplay } from "./preview.js";
import { schemaMetadata } from "./schema.js";

/** The most rows one in-memory tokens table holds (a run's tokens over all streams): past it, export in parts. */
export const MAX_TOKEN_TABLE_ROWS = 50_000_000;

function metadataFor(table: string, run: Run): Map<string, string> {
  const metadata = schemaMetadata("samples", { meta: run.meta, workflow: run.workflow });
  metadata.set("forge.table", table);
  return metadata;
}

function makeTable(columns: Array<[string, DataType, Vector, boolean]>, metadata: Map<string, string>): Table {
  const schema = new Schema(
    columns.map(([name, type, , nullable]) => new Field(name, type, nullable)),
    metadata,
  );
  const data = Object.fromEntries(columns.map(([name, , vector]) => [name, vector]));
  return withDisplay(new Table(schema, data as never));
}

/** What tokensTable needs of a tokenizer to add each token's text (a ForgeTokenizer has it). */
export interface TokenTextSource {
  tokenBytes(id: number): Uint8Array;
}

export interface TokensTableOptions {
  /** The run's tokenizer: adds a `text` column, each token's piece of the stream's text. */
  tokenizer?: TokenTextSource;
}

/**
 * One row per token of every stream, in stream then step order; logprob columns are null where the
 * token was forced or the run has none. With a tokenizer, `text` is each token's piece: the stream's
 * bytes decoded as UTF-8 as they come, so a character split over tokens belongs to the token that
 * completes it and a stream's pieces joined are its whole text (malformed bytes read as U+FFFD).
 */
export function tokensTable(run: Run, options: TokensTableOptions = {}): Table {
  const rows = run.streams.reduce((n, s) => n + s.tokens.length, 0);
  if (rows > MAX_TOKEN_TABLE_ROWS) throw new DatasetError("tokensTable", `the run has ${rows} tokens, over MAX_TOKEN_TABLE_ROWS = ${MAX_TOKEN_TABLE_ROWS}`);
  const stream = new Int32Array(rows);
  const step = new Int32Array(rows);
  const token = new Int32Array(rows);
  const zone = new Int32Array(rows);
  const forced: boolean[] = new Array(rows);
  const logprob: Array<number | null> = new Array(rows);
  const sampling: Array<number | null> = new Array(rows);
  const hazard: Array<number | null> = new Array(rows);
  const top = run.streams.find((s) => s.logprobs?.top)?.logprobs?.top?.k ?? 0;
  const topIds: Array<number[] | null> | null = top > 0 ? new Array(rows) : null;
  const topLogprobs: Array<number[] | null> | null = top > 0 ? new Array(rows) : null;
  const tokenizer = options.tokenizer;
  const text: string[] | null = tokenizer ? new Array(rows) : null;
  const finite = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? null : x);
  let r = 0;
  for (const s of run.streams) {
    const lp = s.logprobs;
    const decoder = text ? new TextDecoder("utf-8", { fatal: false }) : null;
    for (let i = 0; i < s.tokens.length; i++, r++) {
      if (text && decoder) {
        text[r] = decoder.decode(tokenizer!.tokenBytes(s.tokens[i]!), { stream: true });
        if (i === s.tokens.length - 1) text[r] += decoder.decode();
      }
      stream[r] = s.instance;
      step[r] = i;
      token[r] = s.tokens[i]!;
      zone[r] = s.pcs[i]!;
      forced[r] = s.forced[i] === 1;
      logprob[r] = finite(lp?.model[i]);
      sampling[r] = finite(lp?.sampling[i]);
      hazard[r] = finite(lp?.hazard[i]);
      if (topIds && topLogprobs) {
        const t = lp?.top;
        const generated = t !== undefined && t.ids[i * t.k] !== -1;
        topIds[r] = generated ? Array.from(t.ids.subarray(i * t.k, (i + 1) * t.k)) : null;
        topLogprobs[r] = generated ? Array.from(t.logprobs.subarray(i * t.k, (i + 1) * t.k)) : null;
      }
    }
  }
  const runId = vectorFromArray(new Array<string>(rows).fill(run.meta.runId), new Utf8());
  const columns: Array<[string, DataType, Vector, boolean]> = [
    ["run_id", new Utf8(), runId, false],
    ["stream", new Int32(), makeVector(stream), false],
    ["step", new Int32(), makeVector(step), false],
    ["token", new Int32(), makeVector(token), false],
    ...(text ? [["text", new Utf8(), vectorFromArray(text, new Utf8()), false] as [string, DataType, Vector, boolean]] : []),
    ["zone_id", new Int32(), makeVector(zone), false],
    ["forced", new Bool(), vectorFromArray(forced, new Bool()), false],
    ["logprob", new Float32(), vectorFromArray(logprob, new Float32()), true],
    ["sampling_logprob", new Float32(), vectorFromArray(sampling, new Float32()), true],
    ["hazard", new Float32(), vectorFromArray(hazard, new Float32()), true],
  ];
  if (topIds && topLogprobs) {
    const idsType = new List(new Field("item", new Int32(), false));
    const lpType = new List(new Field("item", new Float32(), false));
    columns.push(["top_ids", idsType, vectorFromArray(topIds, idsType), true], ["top_logprobs", lpType, vectorFromArray(topLogprobs, lpType), true]);
  }
  return makeTable(columns, metadataFor("tokens", run));
}

/** One row per decision at a jump site (the run asked for logprobs); a DatasetError when it has none. */
export function decisionsTable(run: Run): Table {
  const decisions = run.decisions;
  if (decisions === undefined) throw new DatasetError("decisionsTable", "the run has no decisions: run the request with { logprobs: true }");
  const n = decisions.length;
  const site = (zoneId: number) => {
    const zone = run.workflow.zones[zoneId];
    return zone ? `${zone.sequence}[${zone.block}]` : String(zoneId);
  };
  const columns: Array<[string, DataType, Vector, boolean]> = [
    ["run_id", new Utf8(), vectorFromArray(new Array<string>(n).fill(run.meta.runId), new Utf8()), false],
    ["stream", new Int32(), vectorFromArray(decisions.map((d) => d.instance), new Int32()), false],
    ["zone_id", new Int32(), vectorFromArray(decisions.map((d) => d.zoneId), new Int32()), false],
    ["site", new Utf8(), vectorFromArray(decisions.map((d) => site(d.zoneId)), new Utf8()), false],
    ["visit", new Int32(), vectorFromArray(decisions.map((d) => d.visit), new Int32()), false],
    ["step", new Int32(), vectorFromArray(decisions.map((d) => d.step), new Int32()), false],
    ["p_jump", new Float64(), vectorFromArray(decisions.map((d) => d.pJump), new Float64()), false],
    // Absent on runs saved before exact decisions existed: those are estimates.
    ["exact", new Bool(), vectorFromArray(decisions.map((d) => d.exact === true), new Bool()), false],
    ["p_path", new Float64(), vectorFromArray(decisions.map((d) => d.pPath), new Float64()), true],
    ["outcome", new Utf8(), vectorFromArray(decisions.map((d) => d.outcome), new Utf8()), false],
    ["taken", new Bool(), vectorFromArray(decisions.map((d) => d.taken), new Bool()), false],
  ];
  return makeTable(columns, metadataFor("decisions", run));
}
