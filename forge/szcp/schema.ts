/**
 * The SZCP schema (zod) for untrusted input, plus the checks a schema cannot express:
 * edge targets inside the zone list, loop counters below `counters`, advance patterns
 * matching the zone index, tools declared in the config.
 */
import { z } from "zod";
import { END, SZCP_FORMAT, SZCP_VERSION, type SzcpWorkflow } from "./types.js";
import { jsonPath, type SzcpIssue } from "./errors.js";

const nonEmpty = z.string().min(1);
const zoneTarget = z.int().min(END);
const count = z.int().min(0);

export const escapeSpecSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("single"), token: nonEmpty }),
  z.strictObject({ kind: z.literal("pair"), open: nonEmpty, close: nonEmpty }),
]);

export const szcpConfigSchema = z.strictObject({
  zoneTokens: z.array(nonEmpty).min(2),
  controlToken: nonEmpty,
  escape: escapeSpecSchema.nullable(),
  tokenizerOverride: z.record(z.string(), z.string()),
  tools: z.array(nonEmpty),
});

export const szcpLoopSchema = z.strictObject({
  counter: count,
  min: count.nullable(),
  max: z.int().min(1).nullable(),
});

export const szcpZoneSchema = z.strictObject({
  text: z.string(),
  advance: nonEmpty,
  next: zoneTarget,
  jump: zoneTarget.nullable(),
  loop: szcpLoopSchema.nullable(),
  tags: z.array(nonEmpty),
  maxGen: z.int().min(1),
  capture: nonEmpty.nullable(),
  feed: nonEmpty.nullable(),
  sequence: z.string(),
  block: count,
  zone: count,
  repetition: count,
});

export const szcpExtractionSchema = z.strictObject({
  name: nonEmpty,
  tags: z.array(nonEmpty).min(1),
});

export const szcpSchema = z.strictObject({
  format: z.literal(SZCP_FORMAT),
  version: z.literal(SZCP_VERSION),
  config: szcpConfigSchema,
  zones: z.array(szcpZoneSchema).min(1),
  counters: count,
  extractions: z.array(szcpExtractionSchema),
  meta: z.record(z.string(), z.string()),
});

/** Cross-field rules, run after the schema accepted the shape. */
export function checkWorkflowSemantics(w: SzcpWorkflow): SzcpIssue[] {
  const issues: SzcpIssue[] = [];
  const add = (path: PropertyKey[], message: string): void => {
    issues.push({ path: jsonPath(path), message });
  };
  const zoneCount = w.zones.length;
  const zonesPerBlock = w.config.zoneTokens.length - 1;
  const counterOwners = new Map<number, number>();
  w.zones.forEach((zone, i) => {
    if (zone.next >= zoneCount) add(["zones", i, "next"], `target ${zone.next} is past the last zone (${zoneCount - 1}); use ${END} for the end`);
    if (zone.jump !== null && zone.jump >= zoneCount) add(["zones", i, "jump"], `target ${zone.jump} is past the last zone (${zoneCount - 1})`);
    if (zone.zone >= zonesPerBlock) add(["zones", i, "zone"], `zone index ${zone.zone} but blocks have ${zonesPerBlock} zones`);
    else if (zone.advance !== w.config.zoneTokens[zone.zone + 1]) {
      add(["zones", i, "advance"], `expected ${JSON.stringify(w.config.zoneTokens[zone.zone + 1])} (zoneTokens[${zone.zone + 1}]), found ${JSON.stringify(zone.advance)}`);
    }
    if (zone.loop) {
      if (zone.jump === null) add(["zones", i, "loop"], "a loop is set on a zone that is not a jump site (jump is null)");
      if (zone.loop.counter >= w.counters) add(["zones", i, "loop", "counter"], `counter ${zone.loop.counter} but counters is ${w.counters}`);
      const owner = counterOwners.get(zone.loop.counter);
      if (owner !== undefined) add(["zones", i, "loop", "counter"], `counter ${zone.loop.counter} is already used by zone ${owner}`);
      counterOwners.set(zone.loop.counter, i);
      if (zone.loop.min !== null && zone.loop.max !== null && zone.loop.min > zone.loop.max) {
        add(["zones", i, "loop", "min"], `min ${zone.loop.min} is greater than max ${zone.loop.max}`);
      }
    }
    for (const key of ["capture", "feed"] as const) {
      const tool = zone[key];
      if (tool !== null && !w.config.tools.includes(tool)) add(["zones", i, key], `tool ${JSON.stringify(tool)} is not in config.tools`);
    }
  });
  const names = new Set<string>();
  w.extractions.forEach((e, i) => {
    if (names.has(e.name)) add(["extractions", i, "name"], `extraction name ${JSON.stringify(e.name)} appears twice`);
    names.add(e.name);
  });
  return issues;
}

/** The schema as JSON Schema (draft 2020-12), for non-TypeScript clients of the format. */
export function szcpJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(szcpSchema) as Record<string, unknown>;
}
