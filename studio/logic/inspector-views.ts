/**
 * What the run inspector sends the page for one stream: its tokens and its decisions. Shared by
 * the server (studio/server/inspector.ts builds them) and the web app (studio/web/api.ts reads
 * them); this folder is the one both sides compile (no Node types here).
 */

/** One stream's tokens, column by column (compact JSON), in step order. */
export interface StreamTokens {
  step: number[];
  token: number[];
  /** Each token's piece of text; null when the tokens table has no `text` column. */
  text: string[] | null;
  forced: boolean[];
  logprob: Array<number | null>;
  sampling: Array<number | null>;
  hazard: Array<number | null>;
  /** Top alternatives (ids, logprobs, and their text where that id appears in the run's tokens); null when the run kept none. */
  top: Array<{ ids: number[]; logprobs: number[]; texts: Array<string | null> } | null> | null;
  /** Tokens of the stream beyond the server's MAX_STREAM_TOKENS (studio/server/inspector.ts), not sent. */
  truncated: number;
}

export interface DecisionView {
  zoneId: number;
  site: string;
  visit: number;
  step: number;
  pJump: number;
  pPath: number | null;
  outcome: string;
  taken: boolean;
}
