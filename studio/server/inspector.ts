/**
 * The run inspector's reader: a run exported by `datasets` (`<run>.samples.arrow` and
 * `<run>.paths.arrow`, read with datasets/read.ts) as streams — each with its branch path
 * (segments), extractions and status — and the SZCP zones from the schema metadata, whose text is
 * what the automaton forced; the generated text of a zone is its extraction. When the export also
 * holds `<run>.tokens.arrow` (datasets' tokensTable, with its `text` column when written with the
 * run's tokenizer) and `<run>.decisions.arrow`, a stream's detail carries its tokens (forced or
 * generated, logprobs, hazard, top alternatives) and its decisions at jump sites. A job on a
 * Forge server is read from its `result.arrow` tables; a stream's tokens and decisions are
 * fetched when it is opened (`?table=tokens&stream=N`), so neither side builds a whole-run table.
 */
import { existsSync, statSync } from "node:fs";
import type { Table } from "apache-arrow";
import { readArrow } from "../../datasets/index.js";
import { StudioError } from "../logic/errors.js";
import type { DecisionView, StreamTokens } from "../logic/inspector-views.js";

/** Most streams the inspector opens from one run. */
export const MAX_STREAMS = 1_024;
/** Most tokens of one stream sent to the page (the rest are counted, not sent). */
export const MAX_STREAM_TOKENS = 100_000;
/** Most decisions of one stream sent to the page. */
export const MAX_STREAM_DECISIONS = 10_000;

export interface ZoneView {
  id: number;
  sequence: string;
  /** Forced text (prompt feed) of the zone. */
  text: string;
  /** Name of the extraction the zone's generated text goes to, if any. */
  capture: string | null;
  /** SZCP `feed`: the tool whose output the zone's generation is replaced by (a tool result), if any. */
  feed: string | null;
}

export interface SegmentView {
  segment: number;
  stepStart: number;
  stepEnd: number;
  sequence: string;
  zoneId: number;
  repetition: number;
  jumped: boolean;
}

export interface StreamSummary {
  stream: number;
  pathId: string;
  status: string;
  segments: number;
  jumps: number;
  tokens: number;
  /** Extraction texts, joined (for the text filter), cut at 400 characters. */
  preview: string;
}

export interface StreamDetail extends StreamSummary {
  segmentsList: SegmentView[];
  extractions: Array<{ extraction: string; text: string; tokenCount: number | null }>;
  /** Present when the export has a tokens table. */
  tokenMarks?: StreamTokens;
  /** Present when the export has a decisions table. */
  decisions?: DecisionView[];
}

export interface InspectedRun {
  file: string;
  runId: string;
  meta: Record<string, string>;
  zones: ZoneView[];
  streams: StreamSummary[];
  /** Streams beyond MAX_STREAMS that were left out. */
  truncated: number;
  hasLogprobs: boolean;
  /** The export has a tokens table (per-token marks); `hasTokenText` when it has their text. */
  hasTokens: boolean;
  hasTokenText: boolean;
  hasDecisions: boolean;
  details: Map<number, StreamDetail>;
  /** Read by streamDetail: the tokens table and each stream's rows in it, the decisions by stream. */
  tokenSource?: TokenSource;
  decisionsByStream?: Map<number, DecisionView[]>;
  /** An opened server job: fetches one stream's tokens and decisions tables (null: the server has none). */
  jobSource?: JobSource;
}

interface JobSource {
  streamTables(stream: number): Promise<{ tokens: Table | null; decisions: Table | null }>;
}

interface TokenSource {
  table: Table;
  rows: Map<number, { start: number; end: number }>;
  /** Text of a token id as it appears in the run (for the top alternatives). */
  textOf: Map<number, string> | null;
}

/** `x.samples.arrow` / `x.paths.arrow` (or .arrows) → both paths, and where the optional tokens and decisions tables would be. */
export function exportPair(path: string): { samples: string; paths: string; tokens: string; decisions: string } {
  const m = /^(.*)\.(samples|paths)\.(arrow|arrows)$/.exec(path);
  if (!m) throw new StudioError(path, "is not a run export (expected <run>.samples.arrow or <run>.paths.arrow)");
  return { samples: `${m[1]}.samples.${m[3]}`, paths: `${m[1]}.paths.${m[3]}`, tokens: `${m[1]}.tokens.${m[3]}`, decisions: `${m[1]}.decisions.${m[3]}` };
}

const cache = new Map<string, { mtime: number; run: InspectedRun }>();

/** Read (or reuse, while the files are unchanged) a run export; `abs` is an absolute path of either table. */
export function inspectExport(abs: string, shown: string): InspectedRun {
  const pair = exportPair(abs);
  for (const p of [pair.samples, pair.paths]) if (!existsSync(p)) throw new StudioError(shown, `the export has no ${p.endsWith("paths.arrow") || p.endsWith("paths.arrows") ? "paths" : "samples"} table beside it`);
  const optional = [pair.tokens, pair.decisions].map((p) => (existsSync(p) ? p : null));
  const mtime = Math.max(...[pair.samples, pair.paths, ...optional].map((p) => (p ? statSync(p).mtimeMs : 0)));
  const key = `${pair.samples}|${optional.map((p) => (p ? 1 : 0)).join("")}`;
  const hit = cache.get(key);
  if (hit && hit.mtime === mtime) return hit.run;
  const [tokens, decisions] = optional.map((p) => (p ? readArrow(p) : undefined));
  const run = buildRun(readArrow(pair.samples), readArrow(pair.paths), shown, { tokens, decisions });
  if (cache.size > 8) cache.clear();
  cache.set(key, { mtime, run });
  return run;
}

function column(table: Table, name: string, where: string) {
  const c = table.getChild(name);
  if (!c) throw new StudioError(where, `has no column "${name}" (not a datasets export)`);
  return c;
}

export function buildRun(samples: Table, paths: Table, where: string, extra: { tokens?: Table; decisions?: Table } = {}): InspectedRun {
  const meta: Record<string, string> = {};
  for (const [k, v] of samples.schema.metadata) if (k !== "forge.workflow") meta[k] = v;
  let zones: ZoneView[] = [];
  const workflow = samples.schema.metadata.get("forge.workflow");
  if (workflow) {
    try {
      const w = JSON.parse(workflow) as { zones?: Array<{ text?: string; sequence?: string; capture?: string | null; feed?: string | null }> };
      zones = (w.zones ?? []).map((z, id) => ({ id, sequence: z.sequence ?? "", text: z.text ?? "", capture: z.capture ?? null, feed: z.feed ?? null }));
    } catch {
      zones = [];
    }
  }
  const details = new Map<number, StreamDetail>();
  const order: number[] = [];
  const leftOut = new Set<number>();
  const get = (stream: number, pathId: string, status: string): StreamDetail | undefined => {
    let d = details.get(stream);
    if (d) return d;
    if (details.size >= MAX_STREAMS) {
      leftOut.add(stream);
      return undefined;
    }
    d = { stream, pathId, status, segments: 0, jumps: 0, tokens: 0, preview: "", segmentsList: [], extractions: [] };
    details.set(stream, d);
    order.push(stream);
    return d;
  };
  const pStream = column(paths, "stream", where), pPath = column(paths, "path_id", where), pSeg = column(paths, "segment", where);
  const pStart = column(paths, "step_start", where), pEnd = column(paths, "step_end", where), pSeq = column(paths, "sequence", where);
  const pZone = column(paths, "zone_id", where), pRep = column(paths, "repetition", where), pJump = column(paths, "jumped", where);
  for (let i = 0; i < paths.numRows; i++) {
    const d = get(pStream.get(i) as number, String(pPath.get(i)), "");
    if (!d) continue;
    const seg: SegmentView = {
      segment: pSeg.get(i) as number, stepStart: pStart.get(i) as number, stepEnd: pEnd.get(i) as number,
      sequence: String(pSeq.get(i)), zoneId: pZone.get(i) as number, repetition: pRep.get(i) as number, jumped: pJump.get(i) === true,
    };
    d.segmentsList.push(seg);
    d.segments++;
    if (seg.jumped) d.jumps++;
    d.tokens = Math.max(d.tokens, seg.stepEnd);
  }
  const sStream = column(samples, "stream", where), sExt = column(samples, "extraction", where), sText = column(samples, "text", where);
  const sCount = column(samples, "token_count", where), sPath = column(samples, "path_id", where), sStatus = column(samples, "status", where);
  for (let i = 0; i < samples.numRows; i++) {
    const d = get(sStream.get(i) as number, String(sPath.get(i)), String(sStatus.get(i) ?? ""));
    if (!d) continue;
    if (!d.status) d.status = String(sStatus.get(i) ?? "");
    const text = String(sText.get(i) ?? "");
    d.extractions.push({ extraction: String(sExt.get(i)), text, tokenCount: (sCount.get(i) as number | null) ?? null });
    if (d.preview.length < 400) d.preview = (d.preview + (d.preview ? " · " : "") + text).slice(0, 400);
  }
  const streams = order.map((s) => {
    const { segmentsList: _s, extractions: _e, ...summary } = details.get(s)!;
    return summary;
  });
  const tokenSource = extra.tokens ? indexTokens(extra.tokens, `${where} (tokens table)`) : undefined;
  const logprobColumn = extra.tokens?.getChild("logprob");
  const hasLogprobs =
    (logprobColumn !== null && logprobColumn !== undefined && logprobColumn.nullCount < logprobColumn.length) ||
    samples.schema.fields.some((f) => f.name === "logprobs") || paths.schema.fields.some((f) => f.name === "logprobs");
  const decisionsByStream = extra.decisions ? indexDecisions(extra.decisions, `${where} (decisions table)`) : undefined;
  return {
    file: where, runId: String(meta.runId ?? "").replace(/^"|"$/g, ""), meta, zones, streams, truncated: leftOut.size, hasLogprobs,
    hasTokens: tokenSource !== undefined, hasTokenText: tokenSource?.textOf != null, hasDecisions: decisionsByStream !== undefined, details,
    tokenSource, decisionsByStream,
  };
}

/** One stream's detail, as streamDetail; for an opened server job, its tokens and decisions fetched from the server. */
export async function openStream(run: InspectedRun, stream: number): Promise<StreamDetail | undefined> {
  const detail = run.details.get(stream);
  if (!detail || !run.jobSource) return streamDetail(run, stream);
  const { tokens, decisions } = await run.jobSource.streamTables(stream);
  const where = `${run.file} stream ${stream}`;
  return {
    ...detail,
    ...(tokens ? { tokenMarks: streamTokens(indexTokens(tokens, `${where} (tokens table)`), stream) } : {}),
    ...(decisions ? { decisions: indexDecisions(decisions, `${where} (decisions table)`).get(stream) ?? [] } : {}),
  };
}

/** One stream's detail, with its tokens and decisions when the export has them (built on request: a run may hold millions of tokens). */
export function streamDetail(run: InspectedRun, stream: number): StreamDetail | undefined {
  const detail = run.details.get(stream);
  if (!detail) return undefined;
  return {
    ...detail,
    ...(run.tokenSource ? { tokenMarks: streamTokens(run.tokenSource, stream) } : {}),
    ...(run.decisionsByStream ? { decisions: run.decisionsByStream.get(stream) ?? [] } : {}),
  };
}

/** Each stream's rows of a tokens table (rows are in stream then step order; one pass). */
function indexTokens(table: Table, where: string): TokenSource {
  const stream = column(table, "stream", where);
  for (const name of ["step", "token", "forced", "logprob", "sampling_logprob", "hazard"]) column(table, name, where);
  const rows = new Map<number, { start: number; end: number }>();
  for (let i = 0; i < table.numRows; i++) {
    const s = stream.get(i) as number;
    const range = rows.get(s);
    if (range && range.end === i) range.end = i + 1;
    else if (range) throw new StudioError(where, `stream ${s}'s tokens are not together at row ${i} (not a datasets tokensTable)`);
    else rows.set(s, { start: i, end: i + 1 });
  }
  const text = table.getChild("text");
  let textOf: Map<number, string> | null = null;
  if (text) {
    textOf = new Map();
    const token = table.getChild("token")!;
    for (let i = 0; i < table.numRows; i++) {
      const piece = text.get(i) as string | null;
      if (piece) textOf.set(token.get(i) as number, piece);
    }
  }
  return { table, rows, textOf };
}

/** One stream's tokens as columns, at most MAX_STREAM_TOKENS of them. */
function streamTokens(source: TokenSource, stream: number): StreamTokens {
  const range = source.rows.get(stream) ?? { start: 0, end: 0 };
  const end = Math.min(range.end, range.start + MAX_STREAM_TOKENS);
  const t = source.table;
  const get = (name: string) => t.getChild(name);
  const [step, token, forced, logprob, sampling, hazard, text] = ["step", "token", "forced", "logprob", "sampling_logprob", "hazard", "text"].map(get);
  const topIds = get("top_ids"), topLogprobs = get("top_logprobs");
  const out: StreamTokens = { step: [], token: [], text: text ? [] : null, forced: [], logprob: [], sampling: [], hazard: [], top: topIds && topLogprobs ? [] : null, truncated: range.end - end };
  const num = (x: unknown) => (x === null || x === undefined || Number.isNaN(x as number) ? null : (x as number));
  for (let i = range.start; i < end; i++) {
    out.step.push(step!.get(i) as number);
    out.token.push(token!.get(i) as number);
    out.text?.push(String(text!.get(i) ?? ""));
    out.forced.push(forced!.get(i) === true);
    out.logprob.push(num(logprob!.get(i)));
    out.sampling.push(num(sampling!.get(i)));
    out.hazard.push(num(hazard!.get(i)));
    if (out.top) {
      const ids = topIds!.get(i) as { toArray(): ArrayLike<number> } | null;
      const lps = topLogprobs!.get(i) as { toArray(): ArrayLike<number> } | null;
      if (!ids || !lps) out.top.push(null);
      else {
        const idList = Array.from(ids.toArray());
        out.top.push({ ids: idList, logprobs: Array.from(lps.toArray()), texts: idList.map((id) => source.textOf?.get(id) ?? null) });
      }
    }
  }
  return out;
}

function indexDecisions(table: Table, where: string): Map<number, DecisionView[]> {
  const [stream, zone, site, visit, step, pJump, pPath, outcome, taken] = ["stream", "zone_id", "site", "visit", "step", "p_jump", "p_path", "outcome", "taken"].map((n) => column(table, n, where));
  const byStream = new Map<number, DecisionView[]>();
  for (let i = 0; i < table.numRows; i++) {
    const s = stream!.get(i) as number;
    let list = byStream.get(s);
    if (!list) byStream.set(s, (list = []));
    if (list.length >= MAX_STREAM_DECISIONS) continue;
    list.push({
      zoneId: zone!.get(i) as number, site: String(site!.get(i)), visit: visit!.get(i) as number, step: step!.get(i) as number,
      pJump: pJump!.get(i) as number, pPath: (pPath!.get(i) as number | null) ?? null, outcome: String(outcome!.get(i)), taken: taken!.get(i) === true,
    });
  }
  return byStream;
}

/** Largest Arrow table the studio takes from a Forge server. */
export const MAX_JOB_TABLE_BYTES = 256 * 1024 * 1024;

const jobs = new Map<string, InspectedRun>();

/** The handle under which an opened server job is found again (`GET /api/inspect/stream?path=<handle>`). */
export function jobHandle(server: string, job: string): string {
  return `job:${server.replace(/\/+$/, "")}/jobs/${job}`;
}

export function openedJob(handle: string): InspectedRun | undefined {
  return jobs.get(handle);
}

/** Answers of a Forge server that mean "no such table here", not a failure: 404 (a job run without logprobs has no decisions), 400 / 501 (an older server, or one without the builders). */
const NO_TABLE = new Set([400, 404, 501]);

/**
 * A finished job on a running Forge server, read as the inspector reads an export: the server's
 * `GET /jobs/{id}/result.arrow?table=samples|paths` (datasets' tables, the same columns and
 * metadata); a stream's `tokens` and `decisions` tables (`&stream=N`) when the stream is opened.
 * The first stream's are fetched now, to say whether the server has them.
 */
export async function inspectJob(server: string, job: string, token?: string): Promise<InspectedRun> {
  const where = `${server} job ${job}`;
  let base: URL;
  try {
    base = new URL(server);
  } catch {
    throw new StudioError(server, "is not a URL (http://host:port of a Forge server)");
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") throw new StudioError(server, "a Forge server's URL starts with http:// or https://");
  async function table(name: "samples" | "paths" | "tokens" | "decisions", stream?: number): Promise<Table>;
  async function table(name: "tokens" | "decisions", stream: number, optional: true): Promise<Table | null>;
  async function table(name: string, stream?: number, optional = false): Promise<Table | null> {
    const query = `table=${name}${stream === undefined ? "" : `&stream=${stream}`}&wait=false`;
    const url = new URL(`jobs/${encodeURIComponent(job)}/result.arrow?${query}`, base.href.endsWith("/") ? base : new URL(base.href + "/"));
    const what = stream === undefined ? `the ${name} table` : `stream ${stream}'s ${name} table`;
    let res: Response;
    try {
      res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(60_000) });
    } catch (error) {
      throw new StudioError(where, `cannot reach the Forge server: ${(error as Error).message}`);
    }
    if (optional && NO_TABLE.has(res.status)) {
      await res.body?.cancel();
      return null;
    }
    if (!res.ok) {
      const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
      throw new StudioError(where, `the server answered ${res.status}${body?.error?.message ? `: ${body.error.message}` : ""}`);
    }
    const length = Number(res.headers.get("content-length") ?? 0);
    if (length > MAX_JOB_TABLE_BYTES) throw new StudioError(where, `${what} is ${length} bytes, more than the ${MAX_JOB_TABLE_BYTES} the studio takes`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.byteLength > MAX_JOB_TABLE_BYTES) throw new StudioError(where, `${what} is more than ${MAX_JOB_TABLE_BYTES} bytes`);
    return readArrow(bytes);
  }
  const [samples, paths] = await Promise.all([table("samples"), table("paths")]);
  const handle = jobHandle(server, job);
  const run = buildRun(samples, paths, handle);
  // A few opened streams' tables are kept (the page opens one at a time, and often goes back).
  const opened = new Map<number, { tokens: Table | null; decisions: Table | null }>();
  const streamTables = async (stream: number) => {
    const hit = opened.get(stream);
    if (hit) return hit;
    const [tokens, decisions] = await Promise.all([table("tokens", stream, true), table("decisions", stream, true)]);
    if (opened.size >= 16) opened.delete(opened.keys().next().value!);
    opened.set(stream, { tokens, decisions });
    return { tokens, decisions };
  };
  run.jobSource = { streamTables };
  const first = run.streams[0];
  if (first) {
    const { tokens, decisions } = await streamTables(first.stream);
    const logprob = tokens?.getChild("logprob");
    run.hasTokens = tokens !== null;
    run.hasTokenText = tokens?.getChild("text") != null;
    run.hasDecisions = decisions !== null;
    run.hasLogprobs ||= logprob != null && logprob.nullCount < logprob.length;
  }
  if (jobs.size >= 8) jobs.delete(jobs.keys().next().value!);
  jobs.set(handle, run);
  return run;
}
