/**
 * The workflow executor. Scheduling follows dependencies, not levels: a step is queued the
 * moment its own dependencies have settled, and up to `concurrency` queued steps run at
 * once — so a slow branch never holds up an unrelated one. Around each step: condition,
 * input templates, retries with backoff, timeout, `onFailure` (abort / skip / fallback /
 * compensate), and tape events. On abort, running siblings are signalled, then the
 * compensations of completed steps run in reverse order of completion.
 */
import { childPath, effectAlreadyDone, idempotencyKey } from "../effects.js";
import {
  AbortedError,
  ExpressionError,
  InDoubtError,
  StepFailedError,
  StepTimeoutError,
  errorMessage,
} from "../errors.js";
import { evaluateExpression, MISSING, renderTemplate, type Scope } from "../expressions/index.js";
import type { StepOutcome, StepStatus, TapeEvent } from "../tape/index.js";
import type { Agent, AgentContext, Inputs, Outputs, ProcAgent, WorkflowAgent } from "../types.js";
import { planWorkflow, type CompiledValue, type Plan, type PlannedStep } from "./plan.js";
import { isRetryable, retryDelayMs } from "./retry.js";

export type StepResult = StepOutcome;

const COMMIT = { commit: true } as const;

/** A step that failed for good; carries how many attempts it took. */
class StepFailure {
  constructor(
    readonly error: unknown,
    readonly attempts: number,
  ) {}
}

export { childPath };

/** How the executor calls a step's agent: invoke.ts's invokeAgent, passed in (invoke.ts dispatches workflows here). */
export type InvokeAgent = (agent: Agent, inputs: Inputs, ctx: AgentContext) => Promise<Outputs>;

export async function runWorkflow(workflow: WorkflowAgent, inputs: Inputs, ctx: AgentContext, invokeAgent: InvokeAgent): Promise<Outputs> {
  const plan = planWorkflow(workflow, ctx.registry);
  if (plan.variables.size > 0) checkVariables(plan, ctx);
  return new WorkflowRun(plan, inputs, ctx, invokeAgent).run();
}

/**
 * Every `$name` that is not a workflow input must have been handed over by the caller (env or
 * allowEnv); checked before any step runs, so an agent file cannot read the environment unasked.
 */
function checkVariables(plan: Plan, ctx: AgentContext): void {
  for (const [name, { where, source }] of plan.variables) {
    if (Object.hasOwn(ctx.env, name) || ctx.envAllowed?.includes(name)) continue;
    throw new ExpressionError(
      where,
      source,
      `"$${name}" is not an input of workflow "${plan.workflow.name}", and the environment variable ${name} is not allowed: ` +
        `templates read only the variables the caller allows (forge-agent --allow-env ${name}, or runAgent(…, { allowEnv: ["${name}"] }))`,
    );
  }
}

class WorkflowRun {
  private readonly results: Array<StepResult | undefined>;
  /** Per step: dependencies not yet settled. */
  private readonly waiting: number[];
  private readonly ready: number[] = [];
  private head = 0;
  private running = 0;
  private unsettled: number;
  /** Steps that succeeded (or fell back), in completion order — compensation runs this backwards. */
  private readonly completed: number[] = [];
  private failure: { step: PlannedStep; failure: StepFailure } | null = null;
  private readonly controller = new AbortController();
  private readonly records: Array<Record<string, unknown> | undefined>;
  private readonly limit: number;
  private readonly scope: Scope;
  private finish: () => void = () => {};

  constructor(
    private readonly plan: Plan,
    private readonly inputs: Inputs,
    private readonly ctx: AgentContext,
    private readonly invokeAgent: InvokeAgent,
  ) {
    const n = plan.steps.length;
    this.results = new Array(n);
    this.records = new Array(n);
    this.waiting = plan.steps.map((s) => s.deps.length);
    this.unsettled = plan.steps.filter((s) => s.handlerOf === null).length;
    this.limit = Math.max(1, plan.workflow.concurrency ?? ctx.concurrency);
    this.scope = { get: (name) => this.lookup(name) };
  }

  async run(): Promise<Outputs> {
    const outer = this.ctx.signal;
    const onOuterAbort = () => this.controller.abort();
    if (outer.aborted) throw new AbortedError(`workflow "${this.plan.workflow.name}"`);
    outer.addEventListener("abort", onOuterAbort, { once: true });
    const done = new Promise<void>((resolve) => (this.finish = resolve));
    for (const i of this.plan.roots) this.enqueue(i);
    this.pump();
    await done;
    outer.removeEventListener("abort", onOuterAbort);

    if (this.failure) {
      await this.compensate();
      const { step, failure } = this.failure;
      if (failure.error instanceof AbortedError && outer.aborted) throw failure.error;
      throw new StepFailedError(this.plan.workflow.name, step.id, failure.attempts, failure.error);
    }
    if (outer.aborted) throw new AbortedError(`workflow "${this.plan.workflow.name}"`);
    const outputs: Outputs = {};
    for (const [name, template] of this.plan.returns) {
      outputs[name] = renderTemplate(template, this.scope, `workflow "${this.plan.workflow.name}", output "${name}"`);
    }
    return outputs;
  }

  // ── scheduling ──────────────────────────────────────────────────────────────

  private enqueue(i: number): void {
    const step = this.plan.steps[i]!;
    if (!this.ctx.resumed?.has(childPath(this.ctx.path, step.id))) this.event(step, "queued", {});
    this.ready.push(i);
  }

  private pump(): void {
    const stopped = () => this.failure !== null || this.controller.signal.aborted;
    while (!stopped() && this.running < this.limit && this.head < this.ready.length) {
      const i = this.ready[this.head++]!;
      this.running++;
      this.execute(this.plan.steps[i]!).then(
        (result) => this.settle(i, result),
        (error) => this.fail(i, error instanceof StepFailure ? error : new StepFailure(error, 1)),
      );
    }
    if (this.running === 0 && (stopped() || this.head === this.ready.length)) this.finish();
  }

  private settle(i: number, result: StepResult): void {
    this.running--;
    this.unsettled--;
    this.results[i] = result;
    if (result.status === "succeeded" || result.status === "fallback") this.completed.push(i);
    for (const d of this.plan.steps[i]!.dependents) if (--this.waiting[d]! === 0) this.enqueue(d);
    this.pump();
  }

  private fail(i: number, failure: StepFailure): void {
    this.running--;
    if (!this.failure) {
      this.failure = { step: this.plan.steps[i]!, failure };
      this.controller.abort();
    }
    this.pump();
  }

  // ── one step ────────────────────────────────────────────────────────────────

  private async execute(step: PlannedStep): Promise<StepResult> {
    const path = childPath(this.ctx.path, step.id);
    const resumed = this.ctx.resumed?.get(path);
    if (resumed) return resumed; // settled before the process died: do not run it again

    if (step.condition) {
      const ok = evaluateExpression(step.condition, this.scope, `${step.where}, condition`);
      if (!ok) {
        this.event(step, "skipped", { status: "skipped" });
        return { status: "skipped", outputs: {} };
      }
    }
    try {
      return { status: "succeeded", outputs: await this.attempt(step, path) };
    } catch (error) {
      return this.handleFailure(step, error instanceof StepFailure ? error : new StepFailure(error, 1));
    }
  }

  /**
   * Run the step's agent, retrying per its policy; throws StepFailure when out of retries.
   * A side-effecting step (step.effects) commits each of its events to the tape before going on
   * — its start before the agent runs, its end before `settle` hands the outputs to dependents —
   * and asks its check before any attempt that an earlier one may have done (ProcAgent.sideEffects).
   */
  private async attempt(step: PlannedStep, path: string): Promise<Outputs> {
    const policy = step.spec.retry;
    const effects = step.effects;
    for (let attempt = 1; ; attempt++) {
      const started = this.ctx.clock.now();
      let inputs: Inputs | undefined;
      try {
        inputs = this.resolveInputs(step);
        if (effects) {
          const ctx = this.effectContext(path);
          const done = await effectAlreadyDone(step.agent as ProcAgent, effects, inputs, ctx, attempt);
          if (!done) this.event(step, "started", { attempt, inputs }, true);
          const outputs = done ?? (await this.callAgent(step, inputs, path, ctx.idempotencyKey));
          this.event(step, "succeeded", { attempt, outputs, durationMs: this.ctx.clock.now() - started, status: "succeeded" }, true);
          return outputs;
        }
        this.event(step, "started", { attempt, inputs });
        const outputs = await this.callAgent(step, inputs, path);
        this.event(step, "succeeded", { attempt, outputs, durationMs: this.ctx.clock.now() - started, status: "succeeded" });
        return outputs;
      } catch (error) {
        if (this.controller.signal.aborted || error instanceof InDoubtError) throw new StepFailure(error, attempt);
        if (policy && attempt <= policy.maxRetries && isRetryable(policy, error)) {
          const delay = retryDelayMs(policy, attempt, this.ctx.random);
          this.event(step, "retried", { attempt, error: errorMessage(error), durationMs: this.ctx.clock.now() - started }, effects !== null);
          try {
            await this.ctx.clock.sleep(delay, this.controller.signal);
          } catch {
            throw new StepFailure(error, attempt);
          }
          continue;
        }
        throw new StepFailure(error, attempt);
      }
    }
  }

  /** The context a side-effecting step's check and run see: its path and idempotency key. */
  private effectContext(path: string): AgentContext {
    return { ...this.ctx, path, signal: this.controller.signal, idempotencyKey: idempotencyKey(this.ctx.runId, path) };
  }

  private async callAgent(step: PlannedStep, inputs: Inputs, path: string, key?: string): Promise<Outputs> {
    const seconds = step.spec.timeoutSeconds;
    if (seconds === undefined) {
      const ctx = { ...this.ctx, path, signal: this.controller.signal };
      if (key !== undefined) ctx.idempotencyKey = key;
      return this.invokeAgent(step.agent!, inputs, ctx);
    }
    const local = new AbortController();
    const signal = AbortSignal.any([this.controller.signal, local.signal]);
    const timeout = new Promise<never>((_, reject) => {
      this.ctx.clock.sleep(seconds * 1000, signal).then(
        () => {
          reject(new StepTimeoutError(step.id, seconds));
          local.abort(); // tell the agent to stop
        },
        () => {},
      );
    });
    try {
      const ctx = { ...this.ctx, path, signal };
      if (key !== undefined) ctx.idempotencyKey = key;
      return await Promise.race([this.invokeAgent(step.agent!, inputs, ctx), timeout]);
    } finally {
      if (!local.signal.aborted) local.abort(); // cancel the timer
    }
  }

  private async handleFailure(step: PlannedStep, failure: StepFailure): Promise<StepResult> {
    const error = errorMessage(failure.error);
    const onFailure = step.spec.onFailure ?? "abort";
    const durable = step.effects !== null;
    if (this.controller.signal.aborted) throw failure;
    if (onFailure === "skip") {
      this.event(step, "failed", { attempt: failure.attempts, error, status: "failed" }, durable);
      return { status: "failed", outputs: {}, error };
    }
    // A refusal of a step in doubt leaves the tape as it was: the step stays in doubt for the next resume.
    if (!(failure.error instanceof InDoubtError)) this.event(step, "failed", { attempt: failure.attempts, error }, durable);
    if (typeof onFailure === "object" && "fallback" in onFailure) {
      const handler = this.plan.steps[this.plan.byId.get(onFailure.fallback)!]!;
      this.results[step.index] = { status: "failed", outputs: {}, error }; // visible to the fallback's templates
      this.records[step.index] = undefined;
      const outputs = await this.attempt(handler, childPath(this.ctx.path, handler.id));
      this.event(step, "fallback", { outputs, status: "fallback", error }, durable);
      return { status: "fallback", outputs, error };
    }
    throw failure; // abort, or compensate (which also aborts, then undoes)
  }

  /** Undo completed steps that declare `compensate`, most recent first; the failing step's own comes first. */
  private async compensate(): Promise<void> {
    const order = [...this.completed];
    const failed = this.failure!.step;
    if (!order.includes(failed.index)) {
      order.push(failed.index);
      this.results[failed.index] ??= { status: "failed", outputs: {}, error: errorMessage(this.failure!.failure.error) };
    }
    for (const i of order.reverse()) {
      const step = this.plan.steps[i]!;
      const f = step.spec.onFailure;
      if (!f || typeof f !== "object" || !("compensate" in f)) continue;
      const handler = this.plan.steps[this.plan.byId.get(f.compensate)!]!;
      this.records[i] = undefined;
      try {
        const outputs = await this.compensationAttempt(handler);
        this.event(step, "compensated", { outputs });
      } catch (error) {
        this.event(step, "failed", { error: `compensation "${handler.id}" failed: ${errorMessage(error instanceof StepFailure ? error.error : error)}` });
      }
    }
  }

  /** Compensations run after the abort, so they need a live signal of their own. */
  private async compensationAttempt(handler: PlannedStep): Promise<Outputs> {
    const inputs = this.resolveInputs(handler);
    const path = childPath(this.ctx.path, handler.id);
    const ctx: AgentContext = { ...this.ctx, path, signal: this.ctx.signal };
    const effects = handler.effects;
    if (effects) ctx.idempotencyKey = idempotencyKey(this.ctx.runId, path);
    const done = effects ? await effectAlreadyDone(handler.agent as ProcAgent, effects, inputs, ctx, 1) : undefined;
    if (!done) this.event(handler, "started", { attempt: 1, inputs }, effects !== null);
    const outputs = done ?? (await this.invokeAgent(handler.agent!, inputs, ctx));
    this.event(handler, "succeeded", { attempt: 1, outputs, status: "succeeded" }, effects !== null);
    return outputs;
  }

  // ── names and values ────────────────────────────────────────────────────────

  /** Scope of templates: `$name` → workflow input or env; `step` → its outputs + success/status/error; `name` → workflow input. */
  private lookup(name: string): unknown {
    if (name.charCodeAt(0) === 36 /* $ */) {
      const key = name.slice(1);
      if (Object.hasOwn(this.inputs, key)) return this.inputs[key];
      if (Object.hasOwn(this.ctx.env, key)) return this.ctx.env[key];
      return MISSING;
    }
    const index = this.plan.byId.get(name);
    if (index !== undefined) return this.record(index);
    return Object.hasOwn(this.inputs, name) ? this.inputs[name] : MISSING;
  }

  private record(index: number): unknown {
    const cached = this.records[index];
    if (cached) return cached;
    const result = this.results[index];
    if (!result) return MISSING;
    const record = { ...result.outputs, success: result.status === "succeeded", status: result.status, error: result.error };
    this.records[index] = record;
    return record;
  }

  private resolveInputs(step: PlannedStep): Inputs {
    const inputs: Inputs = {};
    for (const [name, value] of step.inputs) inputs[name] = this.resolve(value, `${step.where}, input "${name}"`);
    return inputs;
  }

  private resolve(value: CompiledValue, where: string): unknown {
    switch (value.kind) {
      case "literal":
        return value.value;
      case "template":
        return renderTemplate(value.template, this.scope, where);
      case "array":
        return value.items.map((item) => this.resolve(item, where));
      case "object":
        return Object.fromEntries(value.entries.map(([k, v]) => [k, this.resolve(v, where)]));
    }
  }

  /** Record a tape event; `commit` (side-effecting steps) commits it before returning. */
  private event(step: PlannedStep, kind: TapeEvent["kind"], fields: Partial<TapeEvent> & { status?: StepStatus }, commit = false): void {
    const tape = this.ctx.tape;
    if (!tape) return;
    tape.record({ runId: this.ctx.runId, path: childPath(this.ctx.path, step.id), kind, ...fields }, commit ? COMMIT : undefined);
  }
}
