/** Human-readable names for zones and jump sites, shared by the charts. */
import type { SzcpWorkflow } from "../forge/index.js";

/** The zone's kind from its opening pattern: "[Prompt]" → "Prompt". */
export function zoneKind(workflow: SzcpWorkflow, zoneId: number): string {
  const zone = workflow.zones[zoneId]!;
  const pattern = workflow.config.zoneTokens[zone.zone] ?? `zone ${zone.zone}`;
  return pattern.replace(/^\W+|\W+$/g, "") || pattern;
}

/** "reasoning#0 Answer", with ".r2" for the third repetition of a repeated block. */
export function zoneLabel(workflow: SzcpWorkflow, zoneId: number): string {
  const zone = workflow.zones[zoneId]!;
  const repetition = zone.repetition > 0 ? `.r${zone.repetition}` : "";
  return `${zone.sequence}#${zone.block}${repetition} ${zoneKind(workflow, zoneId)}`;
}

/** "control (zone 3)": a jump site; the zone id keeps two uses of one sequence apart. */
export function siteLabel(workflow: SzcpWorkflow, zoneId: number): string {
  return `${workflow.zones[zoneId]!.sequence} (zone ${zoneId})`;
}
