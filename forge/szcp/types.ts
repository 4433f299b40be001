/**
 * SZCP — the serializable workflow: the boundary between client and backend.
 *
 * Everything above this type (UDPL, resources, SFCS, ZCP, RZCP) lives on the client;
 * everything below (LZCP, the TTFA program, the engine) lives on the backend. It is plain
 * JSON: no functions, no class instances, no tokens. `serialize → deserialize → serialize`
 * is byte-identical, and `deserialize` validates untrusted input against a schema.
 *
 * A workflow is a flat list of zones. A zone is the stretch of a block between two
 * consecutive zone patterns (with `["[Prompt]","[Answer]","[EOS]"]` every block has a
 * Prompt zone and an Answer zone). Zone ids are indices into `zones`; execution starts
 * at zone 0. `END` (-1) as a target means "past the last zone": the stream is done.
 *
 * The types are the zod schema's (schema.ts, where each field is documented), so a field
 * added to the schema is in the type at once. They are declared as interfaces extending
 * `z.infer<…>` so that editors and compiler messages show the name (`SzcpZone`), not the
 * expanded object.
 */
import type { z } from "zod";
import type { escapeSpecSchema, zoneConstraintSchema, szcpConfigSchema, szcpExtractionSchema, szcpLoopSchema, szcpSchema, szcpZoneSchema } from "./schema.js";

export { SZCP_FORMAT, SZCP_VERSION, END } from "./format.js";

/** Escape configuration: a single token that escapes the next trigger, or an open/close pair. */
export type EscapeSpec = z.infer<typeof escapeSpecSchema>;
export interface SzcpConfig extends z.infer<typeof szcpConfigSchema> {}
/** Loop bookkeeping carried by the jump site that heads a loop. */
export interface SzcpLoop extends z.infer<typeof szcpLoopSchema> {}
/** What a constrained zone's generated text must be: one of `choices`, or a match of the regex `pattern`. */
export type ZoneConstraint = z.infer<typeof zoneConstraintSchema>;
export interface SzcpZone extends z.infer<typeof szcpZoneSchema> {}
export interface SzcpExtraction extends z.infer<typeof szcpExtractionSchema> {}
export interface SzcpWorkflow extends z.infer<typeof szcpSchema> {}
