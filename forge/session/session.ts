/**
 * A Session: what callers hold (the seed's `make_session`). `session.request` is the same
 * whether its ForgeServer is direct, HTTP or queued: it checks the config against the
 * workflow, lends the request the ambient signal and progress display (ambient.ts), submits,
 * and keys the Run's extractions by name.
 */
import type { SzcpWorkflow } from "../szcp/types.js";
import type { Run } from "../run/types.js";
import type { RequestOptions } from "../engine/options.js";
import type { ProgressListener } from "../engine/progress.js";
import { RequestError } from "../engine/errors.js";
import { ambientProgress, ambientSignal } from "./ambient.js";
import type { ForgeServer, RequestResult } from "./contract.js";

/** The parts of a UDPL config a request checks against the workflow (the seed passes it along). */
export interface RequestConfig {
  zoneTokens?: string[];
  zone_tokens?: string[];
}

export class Session {
  constructor(readonly server: ForgeServer) {}

  /** Runs the workflow over a batch of streams; results keyed by extraction name. */
  async request(config: RequestConfig | null, workflow: SzcpWorkflow, options: RequestOptions = {}): Promise<RequestResult> {
    const zoneTokens = config?.zoneTokens ?? config?.zone_tokens;
    if (zoneTokens && JSON.stringify(zoneTokens) !== JSON.stringify(workflow.config.zoneTokens)) {
      throw new RequestError(
        `request: the config's zone tokens ${JSON.stringify(zoneTokens)} differ from the workflow's ${JSON.stringify(workflow.config.zoneTokens)}`,
      );
    }
    return toResult(await this.submit(workflow, options));
  }

  /** Submits with what the host lends (ambient.ts): its interrupt signal, and its progress display beside the request's own listener. */
  private submit(workflow: SzcpWorkflow, options: RequestOptions): Promise<Run> {
    const listeners = [options.onProgress, ambientProgress()].filter((l): l is ProgressListener => !!l);
    return this.server.submit(workflow, {
      ...options,
      signal: options.signal ?? ambientSignal(),
      onProgress: listeners.length ? (p) => listeners.forEach((l) => l(p)) : undefined,
    });
  }

  /**
   * Counterfactual replay: runs instances of `run` again with its workflow, seed and sampling.
   * Randomness is keyed by (seed, instance, step), so a stream reproduces the original up to
   * `step`; there it emits `force` (e.g. the control pattern) as if the model had sampled it,
   * then samples on. Several replays batch together. The result is a Run of the replayed
   * streams — in instance order like every Run (replays of one instance in the order asked) —
   * whose `meta.replayOf` names the original and lists the replays as asked.
   */
  async replay(run: Run, replays: ReplaySpec | readonly ReplaySpec[], options: Omit<RequestOptions, "replay" | "instances" | "firstInstance" | "seed"> = {}): Promise<Run> {
    const specs = Array.isArray(replays) ? (replays as readonly ReplaySpec[]) : [replays as ReplaySpec];
    if (specs.length === 0) throw new RequestError("replay: no streams to replay");
    const byInstance = new Map(run.streams.map((s) => [s.instance, s]));
    specs.forEach((spec, i) => {
      const where = Array.isArray(replays) ? `replay[${i}]` : "replay";
      const stream = byInstance.get(spec.instance);
      if (stream === undefined) throw new RequestError(`${where}: instance ${spec.instance} is not in the run (its instances: ${run.streams[0]?.instance ?? "none"}…${run.streams.at(-1)?.instance ?? "none"})`);
      if (spec.force !== undefined) {
        if (spec.step === undefined) throw new RequestError(`${where}: force needs the step it begins at`);
        if (!Number.isInteger(spec.step) || spec.step < 0 || spec.step > stream.tokens.length)
          throw new RequestError(`${where}: step ${spec.step} is outside instance ${spec.instance}'s trace (0…${stream.tokens.length})`);
        if (spec.step < stream.tokens.length && stream.forced[spec.step])
          throw new RequestError(`${where}: step ${spec.step} of instance ${spec.instance} is forced text (zone ${stream.pcs[spec.step]}): the model chose nothing there; pick a step it sampled`);
      }
    });
    const sampling = run.meta.sampling;
    const value = <T>(v: unknown): T | undefined => (v === null || v === undefined ? undefined : (v as T));
    const replayed = await this.submit(run.workflow, {
      batchSize: Math.min(specs.length, run.meta.batchSize),
      greedy: value<boolean>(sampling.greedy),
      temperature: value<number>(sampling.temperature),
      topK: value<number>(sampling.topK),
      topP: value<number>(sampling.topP),
      ...options,
      seed: run.meta.seed,
      replay: specs.map((s) => ({ instance: s.instance, ...(s.step !== undefined ? { step: s.step } : {}), ...(s.force !== undefined ? { force: s.force } : {}) })),
    });
    replayed.meta.replayOf = { runId: run.meta.runId, streams: specs.map((s) => ({ instance: s.instance, step: s.step ?? null, force: s.force ?? null })) };
    return replayed;
  }
}

/** One stream of a replay: the instance, and optionally text to force from a trace step on. */
export interface ReplaySpec {
  instance: number;
  /** Index into the original stream's trace (a step the model sampled) where `force` begins. */
  step?: number;
  /** Text emitted there as if sampled, e.g. "[Jump]"; absent: a plain rerun. */
  force?: string;
}

export function toResult(run: Run): RequestResult {
  const result = { ...run.extractions } as Record<string, string[]>;
  Object.defineProperty(result, "run", { value: run, enumerable: false });
  return result as RequestResult;
}
