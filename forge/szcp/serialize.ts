/**
 * Canonical JSON for SZCP: keys in schema order, record keys sorted, no whitespace (unless
 * asked). `serialize → deserialize → serialize` is byte-identical, and the canonical form
 * is what `workflowHash` hashes.
 */
import { SzcpError, jsonPath, type SzcpIssue } from "./errors.js";
import { z } from "zod";
import { checkWorkflowSemantics, szcpOutlineSchema, szcpSchema, szcpZoneSchema, withConstraintBudget } from "./schema.js";
import { ConstraintBudget } from "./regex.js";
import { SZCP_LIMITS } from "./limits.js";
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
  const parsed = withConstraintBudget(new ConstraintBudget(), () => szcpSchema.safeParse(value));
  if (!parsed.success) throw new SzcpError(parsed.error.issues.map((issue) => toIssue(issue)));
  const workflow = parsed.data as SzcpWorkflow;
  const semantic = checkWorkflowSemantics(workflow);
  if (semantic.length) throw new SzcpError(semantic);
  return workflow;
}

/**
 * `deserializeWorkflow` for a server's event loop: the same checks and the same errors, but
 * zones are validated `sliceZones` at a time with `await pause()` between slices, so that a
 * large workflow never holds the loop for long (the HTTP server passes a turn of its
 * admission lane). Takes parsed JSON.
 */
export async function deserializeWorkflowInSlices(value: unknown, pause: () => Promise<void>, sliceZones = 1000): Promise<SzcpWorkflow> {
  const outline = szcpOutlineSchema.safeParse(value);
  const issues: SzcpIssue[] = outline.success ? [] : outline.error.issues.map((issue) => toIssue(issue));
  const zones = (value as { zones?: unknown })?.zones;
  const parsedZones: unknown[] = [];
  if (Array.isArray(zones) && zones.length <= SZCP_LIMITS.maxZones) {
    // One budget for all the zones' constraints (SZCP_LIMITS.maxConstraintNfaStates, …), and a
    // turn after each constrained zone: checking one may take up to about a second.
    const budget = new ConstraintBudget();
    for (let start = 0; start < zones.length; start += sliceZones) {
      await pause();
      for (let i = start; i < Math.min(zones.length, start + sliceZones); i++) {
        const zone = withConstraintBudget(budget, () => szcpZoneSchema.safeParse(zones[i]));
        if (zone.success) parsedZones.push(zone.data);
        else issues.push(...zone.error.issues.map((issue) => toIssue(issue, ["zones", i])));
        if ((zones[i] as { constraint?: unknown } | null)?.constraint) await pause();
      }
    }
  }
  if (issues.length) throw new SzcpError(issues);
  await pause();
  const workflow = { ...(outline.data as object), zones: parsedZones } as SzcpWorkflow;
  const semantic = checkWorkflowSemantics(workflow);
  if (semantic.length) throw new SzcpError(semantic);
  return canonicalWorkflow(workflow);
}

function toIssue(issue: z.core.$ZodIssue, prefix: PropertyKey[] = []): SzcpIssue {
  const keys = issue.code === "unrecognized_keys" ? ` ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}` : "";
  const path = [...prefix, ...(issue.code === "unrecognized_keys" && issue.keys.length ? [...issue.path, issue.keys[0]!] : issue.path)];
  const out: SzcpIssue = { path: jsonPath(path), message: issue.message + (issue.code === "unrecognized_keys" ? "" : keys) };
  const limit = /SZCP_LIMITS\.(\w+) = (\d+)/.exec(issue.message);
  if (limit) out.limit = { name: limit[1]!, value: Number(limit[2]) };
  return out;
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
    ...(c.chatRoles ? { chatRoles: c.chatRoles.slice() } : {}),
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
    // Only when set: a workflow without constraints keeps the JSON (and hash) it had before they existed.
    ...(z.constraint ? { constraint: z.constraint.kind === "choices" ? { kind: "choices" as const, choices: z.constraint.choices.slice() } : z.constraint.kind === "json_schema" ? { kind: "json_schema" as const, schema: z.constraint.schema, pattern: z.constraint.pattern } : { kind: "regex" as const, pattern: z.constraint.pattern } } : {}),
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
