/**
 * What both the call of one agent (invoke.ts) and the workflow executor (workflow/execute.ts)
 * need around a call: the output check, side-effect declarations, idempotency keys and step
 * paths. Apart from invoke.ts so that the executor, which invoke.ts dispatches workflows to,
 * does not import invoke.ts back (the executor gets `invokeAgent` as an argument).
 */
import { AgentError, InDoubtError } from "./errors.js";
import { checkInputs } from "./define.js";
import type { Agent, AgentContext, Inputs, Outputs, ProcAgent, SideEffects } from "./types.js";

/** The path of a child step or call: `<parent>/<key>`, or `<key>` at the root. */
export function childPath(parent: string, key: string): string {
  return parent ? `${parent}/${key}` : key;
}

export function checkOutputs(agent: Agent, outputs: unknown): Outputs {
  if (!outputs || typeof outputs !== "object" || Array.isArray(outputs)) {
    throw new AgentError(`agent "${agent.name}" returned ${Array.isArray(outputs) ? "an array" : typeof outputs}, not an object of outputs`, "output");
  }
  for (const name of Object.keys(agent.outputs)) {
    if ((outputs as Outputs)[name] === undefined) {
      throw new AgentError(`agent "${agent.name}" did not return its declared output "${name}"`, "output");
    }
  }
  return outputs as Outputs;
}

/** The side-effect declaration of `agent` (null for pure agents: templates, workflows, procs without one). */
export function sideEffectsOf(agent: Agent | undefined): SideEffects | null {
  if (!agent || agent.kind !== "proc" || !agent.sideEffects) return null;
  return agent.sideEffects === true ? {} : agent.sideEffects;
}

/** The key a side-effecting step deduplicates its effect by: stable across attempts and resumes. */
export function idempotencyKey(runId: string, path: string): string {
  return `${runId}/${path}`;
}

/**
 * Before calling a side-effecting agent (`ctx.path` = its step, `ctx.idempotencyKey` set): when
 * an earlier attempt may have done the effect — a retry, or a step in doubt after a crash — ask
 * `check`. Returns the outputs when the effect already happened, undefined to run it; throws
 * InDoubtError for a step in doubt that neither `check`, `idempotent` nor `rerunInDoubt` clears.
 */
export async function effectAlreadyDone(
  agent: ProcAgent,
  effects: SideEffects,
  inputs: Inputs,
  ctx: AgentContext,
  attempt: number,
): Promise<Outputs | undefined> {
  const earlier = ctx.unfinished?.get(ctx.path);
  if (attempt <= 1 && !earlier) return undefined;
  if (effects.check) {
    const outputs = await effects.check(checkInputs(agent, inputs), ctx);
    return outputs === undefined || outputs === null ? undefined : checkOutputs(agent, outputs);
  }
  if (!earlier?.inDoubt || effects.idempotent || ctx.rerunInDoubt) return undefined;
  throw new InDoubtError(ctx.runId, ctx.path, agent.name, earlier.attempt, earlier.at);
}
