/**
 * What UDPL parsing produces: the validated `[config]` and the sequences as ZCP blocks.
 */
import type { EscapeSpec } from "../szcp/types.js";
import type { ZcpSequence } from "../zcp/types.js";
import type { UdplWarning } from "./errors.js";

export interface UdplConfig {
  /** File holding `[config]`. */
  file: string;
  zoneTokens: string[];
  requiredTokens: string[];
  validTags: string[];
  /** Names listed in `[config].sequences`, in order. */
  sequences: string[];
  controlToken: string;
  escape: EscapeSpec | null;
  /** `default_max_token_length`, or null when absent (then zones cap at 512). */
  defaultMaxTokenLength: number | null;
  tokenizerOverride: Record<string, string>;
  /** Tools capture/feed may name; null when the file lists none (then any name is allowed). */
  tools: string[] | null;
  /** `chat_roles`: the chat role of each zone of a block (LZCP wraps zones in the chat template's markers); absent: no wrapping. */
  chatRoles?: ("user" | "assistant")[];
}

export interface UdplParseResult {
  sequences: Record<string, ZcpSequence>;
  config: UdplConfig;
  warnings: UdplWarning[];
}

/** Generation cap used when neither the block nor the config sets one. */
export const DEFAULT_MAX_GEN = 512;
