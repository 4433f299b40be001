/**
 * Runs started from the studio: in this process, recorded on a SQLite tape in the folder
 * (`.forge-studio/tape.sqlite`), read back from that tape for live per-step status — the same
 * tape a resumed run (or `forge-agent --tape … --resume`) reads, so a run whose process was
 * killed can be resumed from here.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { inspectWorkflow, resumeRun, runAgent, Tape, type Agent, type AgentRegistry, type TapeEvent } from "../../agents/index.js";
import { StudioError } from "../logic/errors.js";

export interface StepStatusView {
  path: string;
  status: "queued" | "running" | "succeeded" | "failed" | "skipped" | "retrying" | "fallback" | "compensated";
  attempts: number;
  retries: number;
  error?: string;
  durationMs?: number;
  outputs?: unknown;
}

export interface RunView {
  runId: string;
  agent: string;
  status: "running" | "succeeded" | "failed";
  /** Running on the tape but not in this process: it was killed, and can be resumed. */
  interrupted: boolean;
  inputs: unknown;
  outputs?: unknown;
  error?: string;
  startedAt: number;
  finishedAt?: number;
  steps: StepStatusView[];
}

/** Most runs this process keeps running at once. */
export const MAX_ACTIVE_RUNS = 16;

export class StudioRuns {
  readonly tape: Tape;
  private readonly active = new Set<string>();

  constructor(folder: string) {
    const dir = join(folder, ".forge-studio");
    mkdirSync(dir, { recursive: true });
    this.tape = Tape.open(join(dir, "tape.sqlite"));
  }

  /** Start `agent` and return its run id at once; the run goes on in the background. */
  start(agent: string, inputs: Record<string, unknown>, registry: AgentRegistry, options: { dryRun?: boolean; allowEnv?: string[] } = {}): string {
    const resolved = registry.get(agent);
    if (!resolved) throw new StudioError(`run "${agent}"`, "no such agent in the studio's folder");
    this.checkStartable(resolved, registry);
    const runId = randomUUID();
    this.track(runId, runAgent(resolved, inputs, { registry, tape: this.tape, runId, dryRun: options.dryRun, allowEnv: options.allowEnv }));
    return runId;
  }

  /** Continue a run recorded on the tape (killed, or failed) where it stopped. */
  resume(runId: string, registry: AgentRegistry, options: { allowEnv?: string[] } = {}): void {
    const record = this.tape.getRun(runId);
    if (!record) throw new StudioError(`run "${runId}"`, "is not on the studio's tape");
    if (this.active.has(runId)) throw new StudioError(`run "${runId}"`, "is still running in this studio");
    this.track(runId, resumeRun(runId, { registry, tape: this.tape, allowEnv: options.allowEnv }));
  }

  private checkStartable(agent: Agent, registry: AgentRegistry): void {
    if (this.active.size >= MAX_ACTIVE_RUNS) throw new StudioError("run", `${MAX_ACTIVE_RUNS} runs are already going; wait for one to end`);
    if (agent.kind === "workflow") {
      const { problems } = inspectWorkflow(agent, registry);
      if (problems.length > 0) throw new StudioError(`workflow "${agent.name}"`, problems.map((p) => (p.step ? `step "${p.step}": ` : "") + p.message).join("; "));
    }
  }

  private track(runId: string, run: Promise<unknown>): void {
    this.active.add(runId);
    run.catch(() => {}).finally(() => this.active.delete(runId)); // the error is on the tape
  }

  isActive(runId: string): boolean {
    return this.active.has(runId);
  }

  /** Most recent runs first, at most `limit`. */
  list(limit = 100): Omit<RunView, "steps">[] {
    this.tape.flush();
    return this.tape
      .runs()
      .sort((a, b) => b.startedAt - a.startedAt)
      .slice(0, limit)
      .map((r) => ({ ...r, interrupted: r.status === "running" && !this.active.has(r.runId) }));
  }

  view(runId: string): RunView {
    this.tape.flush();
    const record = this.tape.getRun(runId);
    if (!record) throw new StudioError(`run "${runId}"`, "is not on the studio's tape");
    return { ...record, interrupted: record.status === "running" && !this.active.has(runId), steps: stepStatuses(this.tape.events(runId)) };
  }

  close(): void {
    this.tape.close();
  }
}

/** Per step path, its state after the events so far (in tape order). */
export function stepStatuses(events: TapeEvent[]): StepStatusView[] {
  const steps = new Map<string, StepStatusView>();
  for (const e of events) {
    if (e.path === "") continue;
    let s = steps.get(e.path);
    if (!s) steps.set(e.path, (s = { path: e.path, status: "queued", attempts: 0, retries: 0 }));
    switch (e.kind) {
      case "queued": s.status = "queued"; break;
      case "started": s.status = "running"; s.attempts++; break;
      case "retried": s.status = "retrying"; s.retries++; if (e.error) s.error = e.error; break;
      case "succeeded": s.status = "succeeded"; s.outputs = e.outputs; s.error = undefined; break;
      case "failed": s.status = "failed"; s.error = e.error; break;
      case "skipped": s.status = "skipped"; break;
      case "fallback": s.status = "fallback"; break;
      case "compensated": s.status = "compensated"; break;
    }
    if (e.status) s.status = e.status;
    if (e.durationMs !== undefined) s.durationMs = e.durationMs;
  }
  return [...steps.values()];
}
