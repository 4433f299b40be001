/**
 * The host-orchestrated baseline: a workflow run the way prompt libraries run one. The host
 * walks the workflow's zones; each zone that generates is one `generate(context, n)` call
 * that re-encodes the whole context so far from scratch (full forward over the prefix, no
 * cache reuse between calls: `prefill`), then decodes the zone's n tokens with that call's
 * KV cache — the same model, `decode` and seeded sampler as a Forge run. Forced text between
 * calls is appended on the host for free (already tokenized: the baseline is not charged for
 * tokenizing, detokenizing or checking stop strings).
 *
 * The plan (which tokens are forced, how many are generated where) is read off a Forge run's
 * trace, so both do the same useful work: same zones, same loop iterations, same counts.
 */
import type { DecoderModel } from "../../forge/model/index.js";
import type { Run } from "../../forge/run/types.js";
import { sampleOnBackend, type SamplingOptions } from "../../forge/sampler/index.js";
import { prefill } from "./prefill.js";

export type PlanItem = { kind: "forced"; tokens: number[] } | { kind: "generate"; count: number };

export interface HostPlan {
  items: PlanItem[];
  /** Tokens per stream: forced + generated, and generated only. */
  tokens: number;
  generated: number;
  /** Streams of the Forge run whose forced/generated layout is the plan's (the rest took another path). */
  streamsOnPlan: number;
  streams: number;
}

/** Forced runs and generate calls of stream 0 of `run`; a generate call never spans two zones. */
export function planFromRun(run: Run): HostPlan {
  const layout = (s: number): PlanItem[] => {
    const trace = run.streams[s]!;
    const items: PlanItem[] = [];
    let zone = -1;
    for (let i = 0; i < trace.tokens.length; i++) {
      const last = items.at(-1);
      const sameZone = trace.pcs[i] === zone;
      zone = trace.pcs[i]!;
      if (trace.forced[i]) {
        if (last?.kind === "forced") last.tokens.push(trace.tokens[i]!);
        else items.push({ kind: "forced", tokens: [trace.tokens[i]!] });
      } else if (last?.kind === "generate" && sameZone) last.count++;
      else items.push({ kind: "generate", count: 1 });
    }
    return items;
  };
  const items = layout(0);
  const shape = (xs: PlanItem[]) => xs.map((x) => (x.kind === "forced" ? `f${x.tokens.length}` : `g${x.count}`)).join(",");
  const reference = shape(items);
  let streamsOnPlan = 0;
  for (let s = 0; s < run.streams.length; s++) if (shape(layout(s)) === reference) streamsOnPlan++;
  const generated = items.reduce((n, x) => n + (x.kind === "generate" ? x.count : 0), 0);
  const forced = items.reduce((n, x) => n + (x.kind === "forced" ? x.tokens.length : 0), 0);
  return { items, tokens: forced + generated, generated, streamsOnPlan, streams: run.streams.length };
}

export interface HostRunResult {
  batch: number;
  calls: number;
  /** Context tokens re-encoded by all prefills, per stream. */
  reencoded: number;
  ms: number;
  prefillMs: number;
  decodeMs: number;
}

/** Runs the plan for `batch` streams, all in lockstep (the plan is the same for each). */
export async function hostOrchestratedRun(
  model: DecoderModel,
  plan: HostPlan,
  batch: number,
  options: { seed?: number; sampling?: SamplingOptions } = {},
): Promise<HostRunResult> {
  const sampling = options.sampling ?? {};
  const seed = options.seed ?? 0;
  const instances = Int32Array.from({ length: batch }, (_, i) => i);
  const contexts: number[][] = Array.from({ length: batch }, () => []);
  let calls = 0;
  let reencoded = 0;
  let prefillMs = 0;
  let decodeMs = 0;
  const t0 = performance.now();
  for (const item of plan.items) {
    if (item.kind === "forced") {
      for (const c of contexts) c.push(...item.tokens);
      continue;
    }
    // generate(context, n): re-encode everything, then n tokens with this call's cache.
    calls++;
    const T = contexts[0]!.length;
    reencoded += T;
    const p0 = performance.now();
    const { logits, cache } = prefill(model, contexts.map((c) => Int32Array.from(c)), item.count);
    const p1 = performance.now();
    prefillMs += p1 - p0;
    const positions = new Int32Array(batch).fill(T);
    const steps = new Int32Array(batch).fill(T);
    let next = sampleOnBackend(logits, sampling, seed, instances, steps);
    logits.dispose();
    try {
      for (let i = 0; ; i++) {
        const ids = (await next.data()) as Int32Array; // the library reads each token back
        for (let b = 0; b < batch; b++) contexts[b]!.push(ids[b]!);
        if (i + 1 === item.count) break;
        positions.fill(T + i + 1);
        steps.fill(T + i + 1);
        const stepLogits = model.decode(cache, next, positions);
        next.dispose();
        next = sampleOnBackend(stepLogits, sampling, seed, instances, steps);
        stepLogits.dispose();
      }
    } finally {
      next.dispose();
      cache.dispose();
    }
    decodeMs += performance.now() - p1;
  }
  return { batch, calls, reencoded, ms: performance.now() - t0, prefillMs, decodeMs };
}
