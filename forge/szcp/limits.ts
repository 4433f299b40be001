/**
 * Bounds on every size-like field of SZCP (issue #15). A workflow is untrusted input at the
 * server and at a queue worker, and each of these numbers sizes an allocation or a loop
 * downstream: `counters` sizes every stream's counter row, the trigger patterns size the
 * trigger table (states × (vocabulary + 1) cells), the texts are tokenized, the tags become a
 * zones × tags mask. The schema refuses anything over them, naming the JSON path and the limit
 * (`SzcpIssue.limit`), so nothing downstream allocates or loops on an unchecked number.
 *
 * They are far above anything a real workflow needs (the seed example: 3 zone patterns of
 * 5–8 bytes, a few dozen zones, one counter per loop); bench/compile's 100 sequences
 * × 10 blocks stay well inside them.
 */
export const SZCP_LIMITS = {
  /** Zones in a workflow (`$.zones`). */
  maxZones: 16_384,
  /** Loop counters (`$.counters`): each stream holds one row of this many. */
  maxCounters: 4_096,
  /** Zone patterns (`$.config.zoneTokens`): a block has one fewer zones. */
  maxZoneTokens: 16,
  /** UTF-8 bytes of one trigger pattern (zone tokens, control token, escape tokens, `advance`). */
  maxPatternBytes: 64,
  /**
   * UTF-8 bytes of all distinct trigger patterns together. The byte automaton has at most one
   * state more than this, and the trigger table (state × token) is that many rows of
   * vocabulary + 1 cells.
   */
  maxPatternTotalBytes: 256,
  /** UTF-16 code units of one zone's forced text (`$.zones[i].text`). */
  maxTextLength: 1_048_576,
  /** UTF-16 code units of all zone texts together. */
  maxTotalTextLength: 16_777_216,
  /** Generation cap of a zone (`maxGen`), loop bounds (`loop.min`, `loop.max`), `block` and `repetition`. */
  maxCount: 16_777_216,
  /** Distinct tag names over zones and extractions (the program holds a zones × tags mask). */
  maxTags: 256,
  /** Extractions (`$.extractions`). */
  maxExtractions: 256,
  /** Tools (`$.config.tools`). */
  maxTools: 64,
  /** Entries of `$.meta` and of `$.config.tokenizerOverride`. */
  maxRecordEntries: 256,
  /** UTF-16 code units of a name: tag, tool, extraction, sequence, record key. */
  maxNameLength: 256,
  /** UTF-16 code units of a `$.meta` or `$.config.tokenizerOverride` value. */
  maxRecordValueLength: 65_536,
  /** Entries of a zone's `constraint.choices`. */
  maxChoices: 1_024,
  /** UTF-8 bytes of one choice. */
  maxChoiceBytes: 4_096,
  /** UTF-16 code units of a zone's `constraint.pattern` (a regex). */
  maxRegexLength: 4_096,
  /** UTF-16 code units of a json_schema zone's `constraint.schema` (its JSON text). */
  maxJsonSchemaLength: 65_536,
  /** UTF-16 code units of a json_schema zone's derived `constraint.pattern` (forge/szcp/json-schema.ts). */
  maxJsonSchemaPatternLength: 65_536,
  /**
   * Automaton states built while checking all of a workflow's regex and json_schema
   * constraints (each distinct one once). One state costs ~1.2 µs, and each constraint may
   * build up to REGEX_LIMITS.maxNfaStates = 65 536: without a bound for the whole workflow,
   * 16 384 zones of distinct regexes took ~75 ms each to check, minutes per request.
   */
  maxConstraintNfaStates: 1_048_576,
  /** Subset-construction work (REGEX_LIMITS.maxSubsetWork's units) of all of a workflow's json_schema constraints. */
  maxConstraintSubsetWork: 16_777_216,
} as const;

export type SzcpLimitName = keyof typeof SZCP_LIMITS;

/**
 * Names a workflow may not give an extraction: `__proto__` cannot be a key of a plain
 * object (the results would lose it), and `run` is the request result's own property
 * (`result.run`), which would hide the extraction.
 */
export const RESERVED_EXTRACTION_NAMES: readonly string[] = ["__proto__", "run"];

/**
 * Names a workflow may not give a tool: the properties every plain object inherits
 * (`__proto__`, `constructor`, `toString`, …), which a lookup in a tool registry would find
 * without anyone having registered them. (`$.meta` and `$.config.tokenizerOverride` refuse
 * only a `__proto__` key, which a plain object cannot hold.)
 */
export const RESERVED_KEY_NAMES: readonly string[] = Object.getOwnPropertyNames(Object.prototype);

/** `SZCP_LIMITS.name = value`, as the messages cite a limit. */
export function limitLabel(name: SzcpLimitName): string {
  return `SZCP_LIMITS.${name} = ${SZCP_LIMITS[name]}`;
}
