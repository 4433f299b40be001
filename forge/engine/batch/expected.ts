/**
 * What one stream of a workflow is expected to take, before the run: a probe stream whose
 * "sampled" tokens never spell a zone or control pattern (padding), so every zone runs to its
 * max_gen bound and loops take their default path — for a model that ends zones early, an
 * upper bound, which the progress estimator scales down as streams finish.
 */
import { runScripted, type TtfaProgram } from "../../ttfa/index.js";

export interface ExpectedStream {
  /** Recorded tokens (prompt + generated), capped by maxTokens. */
  tokens: number;
  /** Decode steps after the shared prefix: a generated token costs one, a forced run of L tokens fed k per forward ⌈L/k⌉. */
  steps: number;
}

/** At most `maxTokens` probe steps (held ones included): linear in the request's own cap. */
export function expectedStream(program: TtfaProgram, maxTokens: number, prefixSteps: number, feedChunk: number): ExpectedStream {
  // Tool calls answer at once with nothing: a feed zone then takes its advance pattern only.
  const trace = runScripted(program, () => program.padId, maxTokens, { tool: () => ({ delay: 1, tokens: [] }) });
  const tokens = Math.min(trace.tokens.length, maxTokens);
  let steps = 0;
  let forcedRun = 0;
  for (let i = prefixSteps; i < tokens; i++) {
    if (trace.forced[i]) {
      forcedRun++;
      continue;
    }
    steps += Math.ceil(forcedRun / feedChunk) + 1;
    forcedRun = 0;
  }
  steps += Math.ceil(forcedRun / feedChunk);
  return { tokens, steps };
}
