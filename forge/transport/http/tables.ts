/**
 * The Arrow tables `GET /jobs/{id}/result.arrow` serves are built by the datasets layer
 * (datasets/: samplesTable, pathsTable, tokensTable, decisionsTable), which sits above forge and which forge therefore does
 * not import. That layer registers its builders here when it loads (datasets/index.ts), or a
 * caller passes them to one server (`HttpServerOptions.resultTables`); a server with neither
 * answers the route 501 not_available, saying how to enable it.
 */
import type { Table } from "apache-arrow";
import type { Run } from "../../run/types.js";
import type { ForgeTokenizer } from "../../tokenizer/types.js";

export interface ResultTables {
  /** One row per stream (instance): its texts and token counts. */
  samples(run: Run, tokenizer: ForgeTokenizer): Table;
  /** One row per path segment of every stream. */
  paths(run: Run): Table;
  /** One row per token of every stream of `run` (with each token's text, from the tokenizer), with its logprobs when the run kept them. */
  tokens?(run: Run, tokenizer: ForgeTokenizer): Table;
  /** One row per decision at a jump site (runs with logprobs). */
  decisions?(run: Run): Table;
}

/** Default of limits.maxInlineTableRows: most rows of a tokens or decisions table built for one answer; past it, ask for one stream (`?stream=`). */
export const MAX_INLINE_TABLE_ROWS = 200_000;

let registered: ResultTables | null = null;

/** Makes `tables` the builders of every HTTP server that was not given its own (datasets/index.ts calls this). */
export function registerResultTables(tables: ResultTables): void {
  registered = tables;
}

/** The registered builders, or null when no datasets layer has registered any. */
export function registeredResultTables(): ResultTables | null {
  return registered;
}
