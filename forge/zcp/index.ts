/** ZCP: blocks split into zone templates (docs/language.md#zcp-zone-templates). */
export type { PlaceholderSpec, PlaceholderType, TextPart, ZcpBlock, ZcpSequence, ZcpZone } from "./types.js";
export { scanTriggers, splitZones, parseTemplate, lineColumnOf } from "./text.js";
export type { TriggerPatterns, TriggerKind, TriggerMatch, TextIssue, ZoneSplit, TemplateSegment } from "./text.js";
