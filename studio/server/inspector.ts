/**
 * The run inspector's reader: a run exported by `datasets` (`<run>.samples.arrow` and
 * `<run>.paths.arrow`, read with datasets/read.ts) as streams — each with its branch path
 * (segments), extractions and status — and the SZCP zones from the schema metadata, whose text is
 * what the automaton forced; the generated text of a zone is its extraction.
 */
import { existsSync, statSync } from "node:fs";
import type { Table } from "apache-arrow";
import { readArrow } from "../../datasets/index.js";
import { StudioError } from "../logic/errors.js";

/** Most streams the inspector opens from one run. */
export const MAX_STREAMS = 1_024;

export interface ZoneView {
  id: number;
  sequence: string;
  /** Forced text (prompt feed) of the zone. */
  text: string;
  /** Name of the extraction the zone's generated text goes to, if any. */
  capture: string | null;
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
  details: Map<number, StreamDetail>;
}

/** `x.samples.arrow` / `x.paths.arrow` (or .arrows) → both paths. */
export function exportPair(path: string): { samples: string; paths: string } {
  const m = /^(.*)\.(samples|paths)\.(arrow|arrows)$/.exec(path);
  if (!m) throw new StudioError(path, "is not a run export (expected <run>.samples.arrow or <run>.paths.arrow)");
  return { samples: `${m[1]}.samples.${m[3]}`, paths: `${m[1]}.paths.${m[3]}` };
}

const cache = new Map<string, { mtime: number; run: InspectedRun }>();

/** Read (or reuse, while the files are unchanged) a run export; `abs` is an absolute path of either table. */
export function inspectExport(abs: string, shown: string): InspectedRun {
  const pair = exportPair(abs);
  for (const p of [pair.samples, pair.paths]) if (!existsSync(p)) throw new StudioError(shown, `the export has no ${p.endsWith("paths.arrow") || p.endsWith("paths.arrows") ? "paths" : "samples"} table beside it`);
  const mtime = Math.max(statSync(pair.samples).mtimeMs, statSync(pair.paths).mtimeMs);
  const hit = cache.get(pair.samples);
  if (hit && hit.mtime === mtime) return hit.run;
  const run = buildRun(readArrow(pair.samples), readArrow(pair.paths), shown);
  if (cache.size > 8) cache.clear();
  cache.set(pair.samples, { mtime, run });
  return run;
}

function column(table: Table, name: string, where: string) {
  const c = table.getChild(name);
  if (!c) throw new StudioError(where, `has no column "${name}" (not a datasets export)`);
  return c;
}

export function buildRun(samples: Table, paths: Table, where: string): InspectedRun {
  const meta: Record<string, string> = {};
  for (const [k, v] of samples.schema.metadata) if (k !== "forge.workflow") meta[k] = v;
  let zones: ZoneView[] = [];
  const workflow = samples.schema.metadata.get("forge.workflow");
  if (workflow) {
    try {
      const w = JSON.parse(workflow) as { zones?: Array<{ text?: string; sequence?: string; capture?: string | null }> };
      zones = (w.zones ?? []).map((z, id) => ({ id, sequence: z.sequence ?? "", text: z.text ?? "", capture: z.capture ?? null }));
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
  const hasLogprobs = samples.schema.fields.some((f) => f.name === "logprobs") || paths.schema.fields.some((f) => f.name === "logprobs");
  return { file: where, runId: String(meta.runId ?? "").replace(/^"|"$/g, ""), meta, zones, streams, truncated: leftOut.size, hasLogprobs, details };
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

/**
 * A finished job on a running Forge server, read as the inspector reads an export: the server's
 * `GET /jobs/{id}/result.arrow?table=samples|paths` (datasets' tables, the same columns and metadata).
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
  const table = async (name: "samples" | "paths"): Promise<Table> => {
    const url = new URL(`jobs/${encodeURIComponent(job)}/result.arrow?table=${name}&wait=false`, base.href.endsWith("/") ? base : new URL(base.href + "/"));
    let res: Response;
    try {
      res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(60_000) });
    } catch (error) {
      throw new StudioError(where, `cannot reach the Forge server: ${(error as Error).message}`);
    }
    if (!res.ok) {
      const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
      throw new StudioError(where, `the server answered ${res.status}${body?.error?.message ? `: ${body.error.message}` : ""}`);
    }
    const length = Number(res.headers.get("content-length") ?? 0);
    if (length > MAX_JOB_TABLE_BYTES) throw new StudioError(where, `the ${name} table is ${length} bytes, more than the ${MAX_JOB_TABLE_BYTES} the studio takes`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.byteLength > MAX_JOB_TABLE_BYTES) throw new StudioError(where, `the ${name} table is more than ${MAX_JOB_TABLE_BYTES} bytes`);
    return readArrow(bytes);
  };
  const [samples, paths] = await Promise.all([table("samples"), table("paths")]);
  const handle = jobHandle(server, job);
  const run = buildRun(samples, paths, handle);
  if (jobs.size >= 8) jobs.delete(jobs.keys().next().value!);
  jobs.set(handle, run);
  return run;
}
