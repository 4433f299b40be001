/**
 * Running an agent from the top: build the context, open the run on the tape (or reopen it
 * to resume), call the agent, record how it ended.
 */
import { randomUUID } from "node:crypto";
import { systemClock, type Clock } from "./clock.js";
import { AgentError, errorMessage } from "./errors.js";
import { callChild, invokeAgent } from "./invoke.js";
import type { Tape } from "./tape/index.js";
import type { Agent, AgentContext, AgentLookup, Inputs, Outputs } from "./types.js";

export interface RunOptions {
  registry?: AgentLookup;
  tape?: Tape;
  /** Id of the run on the tape (default: a fresh UUID). */
  runId?: string;
  /** Default concurrency of workflows (default 8). */
  concurrency?: number;
  clock?: Clock;
  random?: () => number;
  dryRun?: boolean;
  /**
   * Variables for templates (`{{$name}}`, conditions `$name > 5`), handed over by the caller:
   * every key here is readable. Do not pass `process.env` wholesale — an agent file is
   * untrusted and would read every secret in it; name the variables with `allowEnv`.
   */
  env?: Record<string, string>;
  /**
   * Names of process environment variables that templates may read as `$NAME` (values taken
   * from `process.env` when the run starts; one allowed but not set reads as missing, so
   * `| default: …` applies). Default: none — templates see no environment variable unless the
   * caller allows it (the CLI's `--allow-env NAME[,NAME]`). A workflow that reads a variable
   * neither allowed nor in `env` fails before any step runs, naming the variable and the template.
   */
  allowEnv?: readonly string[];
  signal?: AbortSignal;
  /**
   * resumeRun only: run side-effecting steps that are in doubt again even though nothing can
   * tell whether they already ran (no `sideEffects.check`, not `idempotent`) — for when you
   * have checked by hand. Default false: such a step stops the resumed run with InDoubtError.
   */
  rerunInDoubt?: boolean;
}

export interface RunResult {
  runId: string;
  outputs: Outputs;
  /** True when this call continued an earlier, interrupted run. */
  resumed: boolean;
}

const EMPTY_REGISTRY: AgentLookup = { get: () => undefined };

/** `env` plus the allowed process environment variables that are set. */
function environment(options: RunOptions): Pick<AgentContext, "env" | "envAllowed"> {
  const allowed = options.allowEnv ?? [];
  if (allowed.length === 0) return { env: options.env ?? {} };
  const env: Record<string, string> = { ...options.env };
  for (const name of allowed) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return { env, envAllowed: [...allowed] };
}

function makeContext(
  options: RunOptions,
  runId: string,
  resumed?: AgentContext["resumed"],
  unfinished?: AgentContext["unfinished"],
): AgentContext {
  return {
    path: "",
    registry: options.registry ?? EMPTY_REGISTRY,
    clock: options.clock ?? systemClock,
    random: options.random ?? Math.random,
    signal: options.signal ?? new AbortController().signal,
    dryRun: options.dryRun ?? false,
    ...environment(options),
    tape: options.tape,
    runId,
    resumed,
    unfinished,
    rerunInDoubt: options.rerunInDoubt ?? false,
    concurrency: options.concurrency ?? 8,
    call(agent, inputs, key) {
      return callChild(this, agent, inputs, key);
    },
  };
}

function resolveAgent(agent: string | Agent, registry: AgentLookup | undefined): Agent {
  if (typeof agent !== "string") return agent;
  const found = registry?.get(agent);
  if (!found) throw new AgentError(`unknown agent "${agent}"`, "unknown-agent");
  return found;
}

/** Run an agent (a workflow or any other kind) with `inputs`. */
export async function runAgent(agent: string | Agent, inputs: Inputs, options: RunOptions = {}): Promise<RunResult> {
  const resolved = resolveAgent(agent, options.registry);
  const runId = options.runId ?? randomUUID();
  options.tape?.startRun(runId, resolved.name, inputs);
  return execute(resolved, inputs, options, runId, undefined);
}

/**
 * Continue a run recorded on `options.tape`: steps that settled are not run again. The
 * agent and inputs come from the tape; pass `agent` when it is not in the registry.
 *
 * What is promised (agents/NOTES.md, "Side effects"): a step whose end is on the tape is
 * never run again. A pure step the killed process was running, or had finished within its last
 * event-loop turn, runs again. A side-effecting step (ProcAgent.sideEffects) has its start and end
 * committed before the run went on, so the only one that can be unclear is one the process died
 * in: it is not run again blindly — its `check` decides, or it runs again if `idempotent` (or
 * with `rerunInDoubt`), or this call fails with InDoubtError naming it.
 */
export async function resumeRun(runId: string, options: RunOptions & { tape: Tape; agent?: Agent }): Promise<RunResult> {
  const record = options.tape.getRun(runId);
  if (!record) throw new AgentError(`tape "${options.tape.file}" has no run "${runId}"`, "tape");
  if (record.status === "succeeded") return { runId, outputs: record.outputs ?? {}, resumed: true };
  const agent = options.agent ?? resolveAgent(record.agent, options.registry);
  if (agent.name !== record.agent) throw new AgentError(`run "${runId}" was of agent "${record.agent}", not "${agent.name}"`, "tape");
  options.tape.reopenRun(runId);
  return execute(agent, record.inputs, options, runId, options.tape.outcomes(runId), options.tape.unfinished(runId));
}

async function execute(
  agent: Agent,
  inputs: Inputs,
  options: RunOptions,
  runId: string,
  resumed: AgentContext["resumed"],
  unfinished?: AgentContext["unfinished"],
): Promise<RunResult> {
  const ctx = makeContext(options, runId, resumed, unfinished);
  try {
    const outputs = await invokeAgent(agent, inputs, ctx);
    options.tape?.finishRun(runId, { outputs });
    return { runId, outputs, resumed: resumed !== undefined };
  } catch (error) {
    options.tape?.finishRun(runId, { error: errorMessage(error) });
    throw error;
  }
}
