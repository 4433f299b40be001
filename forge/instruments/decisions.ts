/**
 * Decisions at jump sites, from a run's traces and their logprobs: one record per visit of a
 * jump site in which the model sampled at least one token.
 *
 * What the numbers are, exactly (docs/instruments.md#decision-probabilities):
 *  - `pJump` — the model's probability, at the visit's first sampled token, of a token that
 *    begins or completes the control pattern from where the trigger automaton stood (the jump
 *    hazard of that step). It is the probability of *starting* the pattern there: an upper
 *    bound on answering with the whole pattern (a path that starts may not finish), equal to it
 *    only when no tokenization of the pattern spans several tokens — which byte-level
 *    vocabularies never allow, since the pattern's single bytes are tokens too. The deeper
 *    conditionals exist only along the path the stream walked; those give `pPath`.
 *  - `pPath` — for a visit that jumped: the exact probability of the tokens the stream sampled
 *    from the visit's first sampled token through the one that completed the pattern.
 *  - `outcome` — what the visit did: "jump", "ignored_jump" (under a loop's `min`, or escaped),
 *    "forced_exit" (a loop's `max`), or "no_jump" (the zone ended by its advance pattern or
 *    timeout).
 */
import type { DecisionOutcome, DecisionRecord, Run, StreamTrace } from "../run/types.js";

const OUTCOME_OF: Record<string, DecisionOutcome> = { jump: "jump", ignored_jump: "ignored_jump", forced_exit: "forced_exit" };

/** The decision records of a run whose streams carry logprobs (request option `logprobs`), by instance and step. */
export function deriveDecisions(run: Run): DecisionRecord[] {
  const sites = new Set(run.workflow.zones.flatMap((z, i) => (z.jump !== undefined && z.jump !== null ? [i] : [])));
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
      out.push({
        instance: stream.instance,
        zoneId: segment.zoneId,
        visit,
        step: first,
        pJump: stream.logprobs.hazard[first]!,
        pPath,
        outcome,
        taken: outcome === "jump",
      });
    }
  });
  return out;
}

function firstSampled(stream: StreamTrace, from: number, to: number): number {
  for (let i = from; i < to; i++) if (!stream.forced[i]) return i;
  return -1;
}
