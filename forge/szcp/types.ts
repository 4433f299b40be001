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
 */
export const SZCP_FORMAT = "forge.szcp" as const;
export const SZCP_VERSION = 1 as const;
/** Target meaning "the program ends here". */
export const END = -1 as const;

/** Escape configuration: a single token that escapes the next trigger, or an open/close pair. */
export type EscapeSpec =
  | { kind: "single"; token: string }
  | { kind: "pair"; open: string; close: string };

export interface SzcpConfig {
  /** Patterns separating zones, in order; zone k of a block runs from zoneTokens[k] to zoneTokens[k+1]. */
  zoneTokens: string[];
  /** The pattern the model emits to take a jump at a jump site. */
  controlToken: string;
  escape: EscapeSpec | null;
  /** Special-token names to strings, e.g. { eos_token: "[EOS]" }. */
  tokenizerOverride: Record<string, string>;
  /** Tool names the workflow may capture to / feed from. */
  tools: string[];
}

/** Loop bookkeeping carried by the jump site that heads a loop. */
export interface SzcpLoop {
  /** Counter index (0..counters-1); the counter counts entries into this jump site since the loop was entered. */
  counter: number;
  /** Minimum body iterations before a jump is honoured (null: none). */
  min: number | null;
  /** Maximum body iterations; the exit is taken by force after it (null: none). */
  max: number | null;
}

export interface SzcpZone {
  /** Forced text fed on entering the zone, after placeholder substitution. It includes the
   * zone's opening pattern when the block text has it, and ends with the closing pattern
   * when the block text has that (then the zone needs no generation). */
  text: string;
  /** The pattern that ends the zone (zoneTokens[k+1]); injected on timeout. */
  advance: string;
  /** Nominal successor zone id, or END. */
  next: number;
  /** Jump site: where the control pattern leads (zone id or END); null when not a jump site. */
  jump: number | null;
  /** Set on the jump site of a loop head. */
  loop: SzcpLoop | null;
  /** Tags painted on every token of this zone. */
  tags: string[];
  /** Cap on generated tokens in this zone before the advance pattern is forced. */
  maxGen: number;
  /** Tool name: tokens generated in this zone are sent to that tool when the zone ends. */
  capture: string | null;
  /** Tool name: the zone's generation is replaced by that tool's last output. */
  feed: string | null;
  /** Provenance for traces and paths. */
  sequence: string;
  block: number;
  /** Zone index within its block (0..zoneTokens.length-2). */
  zone: number;
  /** Which repetition of the block (0 when the block has no `repeats`). */
  repetition: number;
}

export interface SzcpExtraction {
  name: string;
  /** Union of tags: a token belongs to the extraction when its zone carries any of them. */
  tags: string[];
}

export interface SzcpWorkflow {
  format: typeof SZCP_FORMAT;
  version: typeof SZCP_VERSION;
  config: SzcpConfig;
  zones: SzcpZone[];
  /** Number of loop counters used by `zones[].loop.counter`. */
  counters: number;
  extractions: SzcpExtraction[];
  /** Free-form provenance (program name, resource draws); ignored by the backend. */
  meta: Record<string, string>;
}
