/**
 * ZCP — the blocks of a sequence, split into zones, as UDPL parsing produces them.
 *
 * A ZCP zone is still a template: its text may hold placeholders that are filled only
 * when a workflow is sampled (RZCP → SZCP). Everything else about the zone (advance
 * pattern, tags, generation cap, provenance) is final here.
 */

/** How a placeholder gets its value (docs/language.md#placeholders). The seed's `control` is read as `custom`. */
export type PlaceholderType = "standard" | "custom" | "argument";

export interface PlaceholderSpec {
  /** The name written in the text, `{user_question}`. */
  placeholder: string;
  /** The resource that fills it (`name` in its table); arguments are keyed by this. */
  resource: string;
  type: PlaceholderType;
  /** The `arguments` table, passed to the resource when it is sampled. */
  arguments: Record<string, unknown>;
}

/** A piece of zone text: literal, or a placeholder to be filled at sampling time. */
export type TextPart =
  | { kind: "literal"; text: string }
  | { kind: "placeholder"; spec: PlaceholderSpec };

import type { ZoneConstraint } from "../szcp/types.js";

export interface ZcpZone {
  parts: TextPart[];
  /** The pattern that closes the zone (zoneTokens[zone + 1]). */
  advance: string;
  tags: string[];
  maxGen: number;
  sequence: string;
  /** Block index within the sequence (the n-th `[[name]]` table). */
  block: number;
  /** Zone index within the block. */
  zone: number;
  repetition: number;
  /** The block's `choices` or `regex`, on its last zone only (docs/language.md#constrained-zones); absent: free. */
  constraint?: ZoneConstraint | null;
}

export interface ZcpBlock {
  sequence: string;
  index: number;
  /** The block's raw text, as written. */
  text: string;
  /** Placeholders by placeholder name. */
  placeholders: Record<string, PlaceholderSpec>;
  /** Zones of every repetition, in feed order (repetitions × zones per block). */
  zones: ZcpZone[];
  repetitions: number;
}

export interface ZcpSequence {
  name: string;
  /** File the sequence was read from ("<text>" when parsed from a string). */
  file: string;
  /** Whether `[config].sequences` lists it (unlisted sequences are accepted with a warning). */
  listed: boolean;
  blocks: ZcpBlock[];
  /** All zones of all blocks in order: what `run(sequence)` feeds. */
  zones: ZcpZone[];
}
