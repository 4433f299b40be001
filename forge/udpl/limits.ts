/**
 * Bounds on everything in a UDPL file that sizes an allocation or a loop (issue #15, items
 * 6–7). A UDPL file is untrusted text: without these, `repeats = 4000000` in a 173-byte file
 * allocated 1.7 GB, and a few thousand repetitions of one construct made the parser spend
 * seconds. Each limit is checked before the work it bounds, and exceeding one is a
 * `UdplError` naming it (`UDPL_LIMITS.maxRepeats = 10000`) at the offending key.
 *
 * With these bounds the parse of a file of N characters takes time O(N log N) and memory
 * O(N) plus at most `maxZones` zones. They are far above what a real program needs (the
 * seed example: 3 zone tokens, 4 tags, a few blocks, repeats ≤ 3) and above the bench's
 * generated 10 MB file.
 */
export const UDPL_LIMITS = {
  /** UTF-16 code units of one file (a 10 MB file parses; smol-toml costs ~1 µs per short table). */
  maxSourceLength: 16_777_216,
  /** Lines of one file (each key or table costs smol-toml a few µs, so their number is bounded too). */
  maxLines: 1_048_576,
  /**
   * Nesting of inline arrays and tables (smol-toml's `maxDepth`; a tagset needs 3), and of a
   * placeholder's `arguments` below it, dotted keys included: they go on to resources and
   * serializers that recurse.
   */
  maxNestingDepth: 32,
  /** `repeats` of a block, and the length of a `tagset` (one entry per repetition). */
  maxRepeats: 10_000,
  /**
   * Zones of all sequences together, repetitions counted: what `repeats` multiplies (a zone
   * is ~150 bytes of parse result; a file of tiny blocks at maxSourceLength stays near it).
   */
  maxZones: 1_048_576,
  /** `max_gen_tokens` and `default_max_token_length`. */
  maxGenTokens: 16_777_216,
  /**
   * Entries of `zone_tokens` (each one is searched for in every block text). The same as
   * SZCP_LIMITS.maxZoneTokens, so a file that parses makes workflows the server accepts.
   */
  maxZoneTokens: 16,
  /** UTF-8 bytes of one trigger pattern (a zone token, the control token, an escape): SZCP_LIMITS.maxPatternBytes. */
  maxPatternBytes: 64,
  /** Entries of `valid_tags`, `sequences`, `required_tokens`, `tools`, `tokenizer_override`. */
  maxListLength: 65_536,
  /** UTF-16 code units of one block's text. */
  maxTextLength: 4_194_304,
  /** Trigger-pattern occurrences in one block text (escaped ones and overlaps included). */
  maxTriggerOccurrences: 65_536,
  /** Warnings kept in a parse result; beyond it one more warning says how many were left out. */
  maxWarnings: 1_000,
  /** "Did you mean …?": words longer than this get no suggestion. */
  maxSuggestionLength: 64,
  /** "Did you mean …?": candidates compared at most (the first ones of a matching length). */
  maxSuggestionCandidates: 4_096,
} as const;

export type UdplLimitName = keyof typeof UDPL_LIMITS;

/** `UDPL_LIMITS.name = value`, as messages cite a limit. */
export function limitLabel(name: UdplLimitName): string {
  return `UDPL_LIMITS.${name} = ${UDPL_LIMITS[name]}`;
}
