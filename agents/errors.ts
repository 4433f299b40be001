/**
 * Errors of the agents layer. Every error a user can cause says where (agent, workflow,
 * step, input, expression) and what; none of them needs a stack trace to be understood.
 */
import { ForgeError } from "../forge/errors.js";

/** Base class. `kind` is what retry policies match on (`retry.retryOn`). */
export class AgentError extends ForgeError {
  readonly code: string = "agent_failed";
  readonly kind: string;
  constructor(message: string, kind = "error", options?: { cause?: unknown }) {
    super(message, options);
    this.name = "AgentError";
    this.kind = kind;
  }
}

/** The kind of any thrown value: `AgentError.kind`, a `kind` string property, else "error". */
export function errorKind(error: unknown): string {
  if (error instanceof AgentError) return error.kind;
  if (error && typeof error === "object" && typeof (error as { kind?: unknown }).kind === "string") {
    return (error as { kind: string }).kind;
  }
  return "error";
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A template or condition that does not parse or cannot be evaluated. */
export class ExpressionError extends AgentError {
  readonly expression: string;
  readonly where: string;
  constructor(where: string, expression: string, problem: string) {
    super(`${where ? where + ": " : ""}expression "${expression}": ${problem}`, "expression");
    this.name = "ExpressionError";
    this.expression = expression;
    this.where = where;
  }
}

/** An input given to an agent is missing, unknown or of the wrong type. */
export class InputError extends AgentError {
  constructor(agent: string, input: string, problem: string) {
    super(`agent "${agent}", input "${input}": ${problem}`, "input");
    this.name = "InputError";
  }
}

export interface ValidationProblem {
  /** Step id, or "" for a problem of the workflow as a whole. */
  step: string;
  code:
    | "unknown-agent"
    | "cycle"
    | "unwired-input"
    | "unknown-input"
    | "not-upstream"
    | "unknown-name"
    | "unknown-step"
    | "duplicate-step"
    | "bad-expression"
    | "bad-handler";
  message: string;
}

/** Every problem of a workflow, found before anything runs. */
export class WorkflowValidationError extends AgentError {
  readonly workflow: string;
  readonly problems: ValidationProblem[];
  constructor(workflow: string, problems: ValidationProblem[]) {
    const lines = problems.map((p) => `  - ${p.step ? `step "${p.step}": ` : ""}${p.message}`);
    super(`workflow "${workflow}" has ${problems.length} problem(s):\n${lines.join("\n")}`, "validation");
    this.name = "WorkflowValidationError";
    this.workflow = workflow;
    this.problems = problems;
  }
}

/** A step failed for good (after its retries) and its `onFailure` aborted the workflow. */
export class StepFailedError extends AgentError {
  readonly workflow: string;
  readonly step: string;
  readonly attempts: number;
  constructor(workflow: string, step: string, attempts: number, cause: unknown) {
    super(
      `workflow "${workflow}", step "${step}" failed after ${attempts} attempt(s): ${errorMessage(cause)}`,
      errorKind(cause),
      { cause },
    );
    this.name = "StepFailedError";
    this.workflow = workflow;
    this.step = step;
    this.attempts = attempts;
  }
}

/** A step ran past its `timeoutSeconds`. Kind "timeout" (retryable when listed). */
export class StepTimeoutError extends AgentError {
  constructor(step: string, seconds: number) {
    super(`step "${step}" timed out after ${seconds}s`, "timeout");
    this.name = "StepTimeoutError";
  }
}

/** The run was aborted from outside (signal) or because a sibling step aborted the workflow. */
export class AbortedError extends AgentError {
  constructor(what: string) {
    super(`${what} was aborted`, "aborted");
    this.name = "AbortedError";
  }
}

/**
 * A resumed run met a side-effecting step that an earlier process started without recording
 * its end: it may have run, and nothing says whether it did, so it is not run again.
 */
export class InDoubtError extends AgentError {
  readonly runId: string;
  readonly path: string;
  constructor(runId: string, path: string, agent: string, attempt: number | undefined, at: number | undefined) {
    super(
      `run "${runId}", step "${path}" (agent "${agent}") declares side effects, and an earlier process started it` +
        `${attempt ? ` (attempt ${attempt}` : " ("}${at ? `, at ${new Date(at).toISOString()}` : ""}) without recording its end: ` +
        `it may have run already, so it is not run again. Give the agent sideEffects.check (find the effect by ctx.idempotencyKey), ` +
        `or declare it sideEffects.idempotent, or — once you have checked by hand — resume with rerunInDoubt (forge-agent --rerun-in-doubt)`,
      "in-doubt",
    );
    this.name = "InDoubtError";
    this.runId = runId;
    this.path = path;
  }
}
