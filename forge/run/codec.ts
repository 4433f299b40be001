/**
 * The Run codec: a Run as JSON, for every place a Run leaves the process (the HTTP server's
 * results, a queue worker's job results). A Run on the wire. Everything in a Run is plain JSON except the trace columns (Int32Array
 * tokens and pcs, Uint8Array forced flags); they travel as base64 of their little-endian bytes,
 * ≈ 5.3 bytes per Int32 token instead of up to 11 as a decimal list, and decode with one copy.
 * `decodeRun(encodeRun(run))` deep-equals `run`, typed-array classes included.
 */
import { ForgeError } from "../errors.js";
import { z } from "zod";
import { szcpSchema } from "../szcp/index.js";
import type { SzcpWorkflow } from "../szcp/types.js";
import type { ChoiceRecord, DecisionRecord, Run, RunMetadata, RunStatistics, PathSegment, StreamStatus, StreamTrace, TraceEvent, TraceLogprobs } from "./types.js";

export type ArrayEncoding = "base64" | "list";

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** A 4-byte typed array's little-endian bytes as base64 (one copy-free view on little-endian hosts). */
function toBase64<T extends Int32Array | Float32Array>(values: T, set: (view: DataView, at: number, value: number) => void): string {
  if (LITTLE_ENDIAN) return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString("base64");
  const bytes = new DataView(new ArrayBuffer(values.length * 4));
  values.forEach((v, i) => set(bytes, i * 4, v));
  return Buffer.from(bytes.buffer).toString("base64");
}

/** base64 of little-endian 4-byte values back into `make(n)`, checked to be whole values. */
function fromBase64<T extends Int32Array | Float32Array>(text: string, field: string, kind: string, make: (n: number) => T, get: (view: DataView, at: number) => number): T {
  const bytes = Buffer.from(text, "base64");
  if (bytes.length % 4 !== 0) throw new WireError(`${field}: ${bytes.length} bytes is not a whole number of ${kind} values`);
  const out = make(bytes.length / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  for (let i = 0; i < out.length; i++) out[i] = get(view, i * 4);
  return out;
}

const int32ToBase64 = (values: Int32Array) => toBase64(values, (v, at, x) => v.setInt32(at, x, true));
const base64ToInt32 = (text: string, field: string) => fromBase64(text, field, "int32", (n) => new Int32Array(n), (v, at) => v.getInt32(at, true));

function encodeInt32(values: Int32Array, encoding: ArrayEncoding): string | number[] {
  return encoding === "base64" ? int32ToBase64(values) : Array.from(values);
}

/** Float32 columns (logprobs): base64 of the bytes keeps NaN and ±∞; as a list, non-finite values become null (JSON has no NaN). */
function encodeFloat32(values: Float32Array, encoding: ArrayEncoding): string | Array<number | null> {
  if (encoding === "list") return Array.from(values, (v) => (Number.isFinite(v) ? v : null));
  return toBase64(values, (v, at, x) => v.setFloat32(at, x, true));
}

function decodeFloat32(value: string | Array<number | null>, field: string): Float32Array {
  if (typeof value !== "string") return Float32Array.from(value, (v) => (v === null ? Number.NaN : v));
  return fromBase64(value, field, "float32", (n) => new Float32Array(n), (v, at) => v.getFloat32(at, true));
}

function encodeLogprobs(l: TraceLogprobs, encoding: ArrayEncoding): WireLogprobs {
  const wire: WireLogprobs = { model: encodeFloat32(l.model, encoding), sampling: encodeFloat32(l.sampling, encoding), hazard: encodeFloat32(l.hazard, encoding) };
  if (l.top) wire.top = { k: l.top.k, ids: encodeInt32(l.top.ids, encoding), logprobs: encodeFloat32(l.top.logprobs, encoding) };
  return wire;
}

function decodeLogprobs(w: WireLogprobs, steps: number, where: string): TraceLogprobs {
  const l: TraceLogprobs = { model: decodeFloat32(w.model, `${where}.model`), sampling: decodeFloat32(w.sampling, `${where}.sampling`), hazard: decodeFloat32(w.hazard, `${where}.hazard`) };
  if (w.top) {
    l.top = { k: w.top.k, ids: typeof w.top.ids === "string" ? base64ToInt32(w.top.ids, `${where}.top.ids`) : Int32Array.from(w.top.ids), logprobs: decodeFloat32(w.top.logprobs, `${where}.top.logprobs`) };
    if (l.top.ids.length !== steps * l.top.k || l.top.logprobs.length !== steps * l.top.k) throw new WireError(`${where}.top: expected ${steps} × ${l.top.k} entries`);
  }
  if (l.model.length !== steps || l.sampling.length !== steps || l.hazard.length !== steps) throw new WireError(`${where}: expected ${steps} values per column, one per token`);
  return l;
}

function encodeUint8(values: Uint8Array, encoding: ArrayEncoding): string | number[] {
  return encoding === "base64" ? Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString("base64") : Array.from(values);
}

/** A malformed wire Run (a client talking to something that is not a Forge server, or a bug). */
export class WireError extends ForgeError {
  readonly code: string = "wire_invalid";
  constructor(message: string) {
    super(`malformed run from the server: ${message}`);
    this.name = "WireError";
  }
}

export function encodeRun(run: Run, encoding: ArrayEncoding = "base64"): WireRun {
  return {
    format: "forge.run",
    version: 1,
    meta: run.meta,
    workflow: run.workflow,
    streams: run.streams.map((s) => {
      const wire: WireStreamTrace = {
        instance: s.instance,
        tokens: encodeInt32(s.tokens, encoding),
        pcs: encodeInt32(s.pcs, encoding),
        forced: encodeUint8(s.forced, encoding),
        events: s.events,
        status: s.status,
      };
      if (s.message !== undefined) wire.message = s.message;
      if (s.logprobs !== undefined) wire.logprobs = encodeLogprobs(s.logprobs, encoding);
      return wire;
    }),
    extractions: run.extractions,
    paths: run.paths,
    statistics: run.statistics,
    ...(run.choices !== undefined ? { choices: run.choices } : {}),
    ...(run.decisions !== undefined ? { decisions: run.decisions } : {}),
  };
}

const STATUSES = ["done", "truncated", "timeout", "interrupted", "tool_error"] as const satisfies readonly StreamStatus[];

const column = (bytes: string) =>
  z.union([z.string().meta({ contentEncoding: "base64", description: bytes }), z.array(z.number().int())]);
const floatColumn = z.union([z.string().meta({ contentEncoding: "base64", description: "Float32 little-endian" }), z.array(z.number().nullable())]);

const wireLogprobsSchema = z
  .object({
    model: floatColumn,
    sampling: floatColumn,
    hazard: floatColumn,
    top: z.object({ k: z.number().int().min(1).max(64), ids: column("Int32 little-endian"), logprobs: floatColumn }).optional(),
  })
  .meta({ description: "Per-token log-probabilities (request option logprobs): NaN (null in lists) where the token was forced." });

/** A stream trace on the wire: typed arrays as base64 of their little-endian bytes, or (`?arrays=list`) plain number lists. */
export const wireStreamTraceSchema = z.object({
  instance: z.number().int().min(0),
  tokens: column("Int32 little-endian"),
  pcs: column("Int32 little-endian"),
  forced: column("Uint8"),
  events: z.array(z.looseObject({ step: z.number().int(), kind: z.string(), zone: z.number().int(), target: z.number().int().optional() })),
  status: z.enum(STATUSES),
  message: z.string().optional(),
  logprobs: wireLogprobsSchema.optional(),
});

// What the client checks of the parts it does not rebuild: their shape, not the server's derivations.
const metaSchema = z.looseObject({
  runId: z.string(),
  seed: z.number().int(),
  workflowHash: z.string(),
  backend: z.string(),
  model: z.string(),
  tokenizer: z.string(),
  batchSize: z.number().int(),
  instances: z.number().int(),
  startedAt: z.string(),
  wallMs: z.number(),
  steps: z.number().int(),
  forwardTokens: z.number().int().optional().meta({ description: "Token rows the model computed (each decode step counts every slot; the shared prefix counts once)." }),
  sharedPrefixTokens: z.number().int().optional().meta({ description: "Length of the shared prefix computed once (0 without prefill)." }),
  interrupted: z.boolean(),
  sampling: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()])),
});

/** Where a choice or decision record sits: the stream, the zone, which visit of it, the trace step of its first sampled token. */
const zoneVisitFields = {
  instance: z.number().int(),
  zoneId: z.number().int(),
  visit: z.number().int(),
  step: z.number().int(),
};

/** `GET /jobs/{id}/result`, a queue job's result: a Run, JSON-safe. */
export const wireRunSchema = z
  .object({
    format: z.literal("forge.run"),
    version: z.literal(1),
    meta: metaSchema,
    workflow: szcpSchema,
    streams: z.array(wireStreamTraceSchema),
    extractions: z.record(z.string(), z.array(z.string())),
    paths: z.array(z.array(z.record(z.string(), z.unknown()))),
    statistics: z.record(z.string(), z.unknown()),
    choices: z
      .array(
        z.looseObject({
          ...zoneVisitFields,
          choice: z.number().int().nullable(),
          probabilities: z.array(z.number()),
          basis: z.array(z.enum(["path", "first_token"])),
        }),
      )
      .optional(),
    decisions: z
      .array(
        z.looseObject({
          ...zoneVisitFields,
          pJump: z.number(),
          exact: z.boolean().optional().meta({ description: "Whether pJump is exact (logprobs.decisions: \"exact\") or the walked-path estimate; absent (runs saved before it): false." }),
          pPath: z.number().nullable(),
          outcome: z.enum(["jump", "ignored_jump", "forced_exit", "no_jump"]),
          taken: z.boolean(),
        }),
      )
      .optional()
      .meta({
        description:
          "Decisions at jump sites (with logprobs): pJump, the model's probability of the control pattern from the visit's first sampled token — exact over the pattern's tokenizations with logprobs.decisions \"exact\" (exact: true), else read along the walked path (docs/instruments.md); pPath, the walked path's probability when it jumped.",
      }),
  })
  .meta({ description: "forge/run/types.ts Run, JSON-safe: trace columns as base64 (default) or number lists (?arrays=list)." });

export interface WireStreamTrace {
  instance: number;
  tokens: string | number[];
  pcs: string | number[];
  forced: string | number[];
  events: TraceEvent[];
  status: StreamStatus;
  message?: string;
  logprobs?: WireLogprobs;
}

export interface WireLogprobs {
  model: string | Array<number | null>;
  sampling: string | Array<number | null>;
  hazard: string | Array<number | null>;
  top?: { k: number; ids: string | number[]; logprobs: string | Array<number | null> };
}

/** A Run, JSON-safe (what `encodeRun` gives). */
export interface WireRun {
  format: "forge.run";
  version: 1;
  meta: RunMetadata;
  workflow: SzcpWorkflow;
  streams: WireStreamTrace[];
  extractions: Record<string, string[]>;
  paths: PathSegment[][];
  statistics: RunStatistics;
  choices?: ChoiceRecord[];
  decisions?: DecisionRecord[];
}

// The decoder checks what it rebuilds (the trace columns) and the shape of the rest; the
// workflow is the server's own, already validated where it was admitted, so it is not re-validated here.
const decodableRunSchema = wireRunSchema.extend({ workflow: z.record(z.string(), z.unknown()) });

export function decodeRun(value: unknown): Run {
  const parsed = decodableRunSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new WireError(`at ${issue.path.join(".") || "the top level"}: ${issue.message}`);
  }
  const wire = value as WireRun;
  const streams = wire.streams.map((s, i): StreamTrace => {
    const where = `streams[${i}]`;
    const trace: StreamTrace = {
      instance: s.instance,
      tokens: typeof s.tokens === "string" ? base64ToInt32(s.tokens, `${where}.tokens`) : Int32Array.from(s.tokens),
      pcs: typeof s.pcs === "string" ? base64ToInt32(s.pcs, `${where}.pcs`) : Int32Array.from(s.pcs),
      forced: typeof s.forced === "string" ? new Uint8Array(Buffer.from(s.forced, "base64")) : Uint8Array.from(s.forced),
      events: s.events,
      status: s.status,
    };
    if (trace.tokens.length !== trace.pcs.length || trace.tokens.length !== trace.forced.length)
      throw new WireError(`${where}: tokens, pcs and forced have different lengths`);
    if (s.message !== undefined) trace.message = s.message;
    if (s.logprobs !== undefined) trace.logprobs = decodeLogprobs(s.logprobs, trace.tokens.length, `${where}.logprobs`);
    return trace;
  });
  return {
    meta: wire.meta,
    workflow: wire.workflow,
    streams,
    extractions: wire.extractions,
    paths: wire.paths,
    statistics: wire.statistics,
    ...(wire.choices !== undefined ? { choices: wire.choices } : {}),
    ...(wire.decisions !== undefined ? { decisions: wire.decisions } : {}),
  };
}
