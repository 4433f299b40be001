/**
 * The agent interface (docs/agents.md): three kinds of agent — proc, template, workflow — that
 * all declare inputs, optional inputs and outputs with help text and are called the same
 * way, so a workflow is itself an agent and nests to any depth.
 */
import type { z } from "zod";
import type { Clock } from "./clock.js";
import type { StepOutcome, Tape, UnfinishedStep } from "./tape/tape.js";
import type { Inputs, Outputs } from "./values.js";

/** One declared input or output. */
export interface PortSpec {
  help: string;
  /** Type check (zod). Inputs are parsed through it; absent means "any value". */
  schema?: z.ZodType;
  /** Optional inputs only: the value used when the caller gives none. */
  default?: unknown;
}

export type Ports = Record<string, PortSpec>;

export type { Inputs, Outputs };

interface AgentBase {
  name: string;
  help: string;
  inputs: Ports;
  optionalInputs: Ports;
  outputs: Ports;
}

/** A TypeScript function. */
export interface ProcAgent extends AgentBase {
  kind: "proc";
  run(inputs: Inputs, ctx: AgentContext): Promise<Outputs> | Outputs;
  /**
   * Declares that `run` changes something outside the run (appends to a file, sends a message,
   * writes a row). Absent: the agent is pure and may run again after a crash.
   *
   * What the executor then promises, with a tape (agents/NOTES.md, "Side effects"):
   *  - the step's start is committed to the tape before `run` is called, and its end (outputs or
   *    error) is committed before any dependent step, the workflow's caller or `ctx.call`'s caller
   *    sees the outputs;
   *  - a resumed run never calls `run` again for a step whose end is on the tape;
   *  - a step whose start is on the tape but whose end is not ("in doubt": the process died
   *    while it ran) is never run again blindly: `check` decides when given; else `run` is called
   *    again only when `idempotent` is true (or the caller passes `rerunInDoubt`); else the
   *    resumed run stops with an InDoubtError naming the step.
   * `ctx.idempotencyKey` (`<runId>/<step path>`) is the same for every attempt and every resume
   * of the step: give it to the outside system, or write it next to the effect, so `check` can
   * find it. "No step runs twice" therefore holds exactly as far as `check` (or the outside
   * system, for `idempotent`) recognises an effect that happened.
   */
  sideEffects?: true | SideEffects;
}

/** How a side-effecting proc agent tells whether its effect already happened (see `ProcAgent.sideEffects`). */
export interface SideEffects {
  /**
   * Called, with the step's inputs and `ctx.idempotencyKey`, instead of running blindly when an
   * earlier attempt may have done the effect: a step in doubt after a crash, a step that an
   * earlier process left failed, and every retry.
   * Return the step's outputs if the effect of this key already happened (the step is then
   * recorded as succeeded without running), or undefined to run it.
   */
  check?(inputs: Inputs, ctx: AgentContext): Promise<Outputs | undefined> | Outputs | undefined;
  /** `run` may be called again for the same key (the outside system deduplicates by it). */
  idempotent?: boolean;
}

/** A text template over its inputs; its single output is `text`. */
export interface TemplateAgent extends AgentBase {
  kind: "template";
  template: string;
}

/** What a step does when it fails for good (after retries). */
export type OnFailure =
  | "abort"
  | "skip"
  | { fallback: string }
  | { compensate: string };

export interface RetryPolicy {
  maxRetries: number;
  /** Delay before the first retry. */
  backoffSeconds?: number;
  /** Each further retry waits `multiplier` times longer (default 2). */
  multiplier?: number;
  /** Relative jitter in [0, 1]: the delay is scaled by a random factor in [1-jitter, 1+jitter]. */
  jitter?: number;
  /** Cap on one delay, in seconds. */
  maxBackoffSeconds?: number;
  /** Error kinds that are retried (AgentError.kind); absent: every kind except validation/input/expression. */
  retryOn?: string[];
}

export interface StepSpec {
  id: string;
  agent: string;
  /** Literals or templates (`"{{fetch.items[0].name}}"`); strings inside objects/arrays are templated too. */
  inputs?: Record<string, unknown>;
  dependsOn?: string[];
  /** Run only when true, e.g. `{{check.success}} == true` or `$count > 5`. */
  condition?: string;
  retry?: RetryPolicy;
  timeoutSeconds?: number;
  onFailure?: OnFailure;
}

/** A workflow of steps. */
export interface WorkflowAgent extends AgentBase {
  kind: "workflow";
  steps: StepSpec[];
  /** Output name → template over workflow inputs and step results. */
  returns: Record<string, string>;
  /** Most steps of this workflow running at once (default 8). */
  concurrency?: number;
}

export type Agent = ProcAgent | TemplateAgent | WorkflowAgent;

/** Looks agents up by name (see registry.ts). */
export interface AgentLookup {
  get(name: string): Agent | undefined;
}

/** Handed to every agent call. */
export interface AgentContext {
  /** Path of this call on the tape ("" for the root call, "a/b#2/c" for nested steps). */
  path: string;
  registry: AgentLookup;
  clock: Clock;
  /** Random numbers in [0,1) (retry jitter); injectable for tests. */
  random: () => number;
  signal: AbortSignal;
  /** The CLI's --dry-run: passed as input `dryRun` to agents declaring that optional input. */
  dryRun: boolean;
  /**
   * Values of `$name` that are not workflow inputs: only what the caller handed over
   * (`RunOptions.env`, and the process environment variables named in `RunOptions.allowEnv` /
   * `forge-agent --allow-env`). A workflow reading any other `$name` fails before it starts.
   */
  env: Record<string, string>;
  /** Names allowed as variables even when they have no value in `env` (they read as missing). */
  envAllowed?: readonly string[];
  tape?: Tape;
  runId: string;
  /** When resuming: settled steps by tape path; the executor returns these instead of running. */
  resumed?: Map<string, StepOutcome>;
  /** When resuming: steps an earlier process started and did not settle, by path (Tape.unfinished). */
  unfinished?: Map<string, UnfinishedStep>;
  /** Run side-effecting steps that are in doubt again without a check (RunOptions.rerunInDoubt). */
  rerunInDoubt?: boolean;
  /**
   * Set for agents that declare `sideEffects`: `<runId>/<path>`, the same for every attempt and
   * every resume of this step — the key to deduplicate the effect by.
   */
  idempotencyKey?: string;
  /** Default concurrency for workflows that declare none. */
  concurrency: number;
  /**
   * Run another agent as a child of this call; `key` names the child on the tape
   * (`<path>/<key>`), so a resumed run finds what the child already did.
   */
  call(agent: string | Agent, inputs: Inputs, key: string): Promise<Outputs>;
}
