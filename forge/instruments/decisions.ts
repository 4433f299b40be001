/**
 * Decisions at jump sites, from a run's traces and their logprobs: one record per visit of a
 * jump site in which the model sampled at least one token.
 *
 * What the numbers are, exactly (docs/instruments.md#decision-probabilities):
 *  - `pJump` with `exact: true` (request `logprobs: { decisions: "exact" }`) — the probability,
 *    under the model's distribution, that the model's tokens from the visit's first sampled one
 *    spell the control pattern in any of the tokenizations the trigger table accepts, summed
 *    over them (pattern-trie.ts; one probe forward per visit). Escapes and a loop's `min` decide
 *    what the automaton does with the pattern (the outcome), not pJump.
 *  - `pJump` with `exact: false` (the default, or when the trie exceeds its bound) — the probability the model gave the control pattern from the visit's first
 *    sampled token, read along the path it walked: the product of the jump hazards of the
 *    visit's consecutive sampled steps for as long as each sampled token moved along the
 *    pattern (the step where it left the pattern, or completed it, included). With a byte-level
 *    vocabulary (one token per byte) this is exact: for a stream that spelled the pattern, the
 *    probability that its answer starts with the pattern; for one that started and left ("["
 *    then "E…"), the probability that it starts with the pattern's first k+1 bytes — an upper
 *    bound on the pattern's, because the deeper conditionals exist only along the walked path.
 *    With larger vocabularies each factor is the mass of every token that moves along the
 *    pattern from the state reached, so the product follows the walked tokenization while
 *    crediting the others at each step: an estimate of the same quantity, not a bound.
 *  - `pPath` — for a visit that jumped: the exact probability of the tokens the stream sampled
 *    from the visit's first sampled token through the one that completed the pattern.
 *  - `outcome` — what the visit did: "jump", "ignored_jump" (under a loop's `min`, or escaped),
 *    "forced_exit" (a loop's `max`), or "no_jump" (the zone ended by its advance pattern or
 *    timeout).
 */
import type { DecisionOutcome, DecisionRecord, Run, StreamTrace } from "../run/types.js";

const OUTCOME_OF: Record<string, DecisionOutcome> = { jump: "jump", ignored_jump: "ignored_jump", forced_exit: "forced_exit" };

/**
 * The decision records of a run whose streams carry logprobs (request option `logprobs`), by
 * instance and step. `advanced(stream, step)`: whether the token the stream sampled there moved
 * along the control pattern (the logprob observer knows; without it pJump is the first step's hazard).
 * `exactAt(stream, step)`: the exact pJump of the visit starting there (exact decisions), null or
 * undefined where there is none (the record then carries the estimate, `exact: false`).
 */
export function deriveDecisions(
  run: Run,
  advanced: (stream: StreamTrace, step: number) => boolean = () => false,
  exactAt?: (stream: StreamTrace, step: number) => number | null | undefined,
): DecisionRecord[] {
  const sites = new Set(run.statistics.jumpSites.map((site) => site.zoneId));
  const out: DecisionRecord[] = [];
  run.streams.forEach((stream, k) => {
    if (!stream.logprobs) return;
    const visits = new Map<number, number>();
    for (const segment of run.paths[k] ?? []) {
      if (!sites.has(segment.zoneId)) continue;
      const visit = visits.get(segment.zoneId) ?? 0;
      visits.set(segment.zoneId, visit + 1);
      const first = firstSampled(stream, segment.stepStart, segment.stepEnd);
      if (first < 0) continue;
      const event = stream.events.find((e) => e.zone === segment.zoneId && e.step >= segment.stepStart && e.step < segment.stepEnd && e.kind in OUTCOME_OF);
      const outcome = event ? OUTCOME_OF[event.kind]! : "no_jump";
      let pPath: number | null = null;
      if (outcome === "jump") {
        let logp = 0;
        for (let i = first; i <= event!.step; i++) if (!stream.forced[i]) logp += stream.logprobs.model[i]!;
        pPath = Math.exp(logp);
      }
      const exact = exactAt?.(stream, first) ?? null;
      out.push({
        instance: stream.instance,
        zoneId: segment.zoneId,
        visit,
        step: first,
        pJump: exact ?? walkedPatternProbability(stream, first, segment.stepEnd, event?.step ?? -1, advanced),
        exact: exact !== null,
        pPath,
        outcome,
        taken: outcome === "jump",
      });
    }
  });
  return out;
}

/** Product of the hazards of consecutive sampled steps from `first` while each token advanced the pattern (the last one, which left or completed it, included). */
function walkedPatternProbability(stream: StreamTrace, first: number, end: number, firedAt: number, advanced: (stream: StreamTrace, step: number) => boolean): number {
  const hazard = stream.logprobs!.hazard;
  let p = 1;
  for (let i = first; i < end; i++) {
    if (stream.forced[i]) break; // the automaton took over: the visit's answer ended
    p *= hazard[i]!;
    if (i === firedAt || !advanced(stream, i)) break;
  }
  return p;
}

function firstSampled(stream: StreamTrace, from: number, to: number): number {
  for (let i = from; i < to; i++) if (!stream.forced[i]) return i;
  return -1;
}
