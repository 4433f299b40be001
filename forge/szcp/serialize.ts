/**
 * Canonical JSON for SZCP: keys in schema order, record keys sorted, no whitespace (unless
 * asked). `serialize → deserialize → serialize` is byte-identical, and the canonical form
 * is what `workflowHash` hashes.
 */
import { SzcpError, jsonPath, type SzcpIssue } from "./errors.js";
import { checkWorkflowSemantics, szcpSchema } from "./schema.js";
import type { EscapeSpec, SzcpConfig, SzcpWorkflow, SzcpZone } from "./types.js";

export interface SerializeOptions {
  /** Indentation for human reading; the default (0) is the compact canonical form. */
  indent?: number;
}

/** Validates and serializes a workflow. Throws SzcpError when it is not valid SZCP. */
export function serializeWorkflow(workflow: SzcpWorkflow, options: SerializeOptions = {}): string {
  return JSON.stringify(canonicalWorkflow(validateWorkflow(workflow)), null, options.indent || undefined);
}

/** Parses and validates untrusted SZCP (JSON text or an already-parsed object). */
export function deserializeWorkflow(input: string | unknown): SzcpWorkflow {
  let value: unknown = input;
  if (typeof input === "string") {
    try {
      value = JSON.parse(input);
    } catch (err) {
      throw new SzcpError([{ path: "$", message: `not JSON: ${(err as Error).message}` }]);
    }
  }
  return canonicalWorkflow(validateWorkflow(value));
}

/** Schema, then cross-field rules; returns the input typed, or throws SzcpError with paths. */
export function validateWorkflow(value: unknown): SzcpWorkflow {
  const parsed = szcpSchema.safeParse(value);
  if (!parsed.success) {
    const issues: SzcpIssue[] = parsed.error.issues.map((issue) => {
      const keys = issue.code === "unrecognized_keys" ? ` ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}` : "";
      const path = issue.code === "unrecognized_keys" && issue.keys.length ? [...issue.path, issue.keys[0]] : issue.path;
      return { path: jsonPath(path), message: issue.message + (issue.code === "unrecognized_keys" ? "" : keys) };
    });
    throw new SzcpError(issues);
  }
  const workflow = parsed.data as SzcpWorkflow;
  const semantic = checkWorkflowSemantics(workflow);
  if (semantic.length) throw new SzcpError(semantic);
  return workflow;
}

function sortedRecord(r: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const key of Object.keys(r).sort()) out[key] = r[key];
  return out;
}

function canonicalEscape(e: EscapeSpec | null): EscapeSpec | null {
  if (!e) return null;
  return e.kind === "single" ? { kind: "single", token: e.token } : { kind: "pair", open: e.open, close: e.close };
}

function canonicalConfig(c: SzcpConfig): SzcpConfig {
  return {
    zoneTokens: c.zoneTokens.slice(),
    controlToken: c.controlToken,
    escape: canonicalEscape(c.escape),
    tokenizerOverride: sortedRecord(c.tokenizerOverride),
    tools: c.tools.slice(),
  };
}

function canonicalZone(z: SzcpZone): SzcpZone {
  return {
    text: z.text,
    advance: z.advance,
    next: z.next,
    jump: z.jump,
    loop: z.loop ? { counter: z.loop.counter, min: z.loop.min, max: z.loop.max } : null,
    tags: z.tags.slice(),
    maxGen: z.maxGen,
    capture: z.capture,
    feed: z.feed,
    sequence: z.sequence,
    block: z.block,
    zone: z.zone,
    repetition: z.repetition,
  };
}

/** A deep copy with keys in canonical order. */
export function canonicalWorkflow(w: SzcpWorkflow): SzcpWorkflow {
  return {
    format: w.format,
    version: w.version,
    config: canonicalConfig(w.config),
    zones: w.zones.map(canonicalZone),
    counters: w.counters,
    extractions: w.extractions.map((e) => ({ name: e.name, tags: e.tags.slice() })),
    meta: sortedRecord(w.meta),
  };
}
