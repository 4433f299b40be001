/**
 * Calling one agent, whatever its kind: check its inputs, pass --dry-run to agents that
 * declare a `dryRun` input, dispatch (proc → function, template → render, workflow →
 * executor), and check the outputs it declared are there.
 */
import { AgentError, InDoubtError, errorMessage } from "./errors.js";
import { checkInputs } from "./define.js";
import { checkOutputs, childPath, effectAlreadyDone, idempotencyKey, sideEffectsOf } from "./effects.js";
import { objectScope, parseTemplate, renderTemplate, type Template } from "./expressions/index.js";
import { runWorkflow } from "./workflow/execute.js";
import type { Agent, AgentContext, Inputs, Outputs, ProcAgent, TemplateAgent } from "./types.js";

export { checkOutputs, effectAlreadyDone, idempotencyKey, sideEffectsOf } from "./effects.js";

const templates = new WeakMap<TemplateAgent, Template>();

function compiledTemplate(agent: TemplateAgent): Template {
  let t = templates.get(agent);
  if (!t) {
    t = parseTemplate(agent.template, `template agent "${agent.name}"`);
    templates.set(agent, t);
  }
  return t;
}

export async function invokeAgent(agent: Agent, given: Inputs, ctx: AgentContext): Promise<Outputs> {
  const withDryRun =
    ctx.dryRun && "dryRun" in agent.optionalInputs && given.dryRun === undefined ? { ...given, dryRun: true } : given;
  const inputs = checkInputs(agent, withDryRun);
  switch (agent.kind) {
    case "proc":
      return checkOutputs(agent, await agent.run(inputs, ctx));
    case "template":
      return { text: renderTemplate(compiledTemplate(agent), objectScope(inputs), `template agent "${agent.name}"`) };
    case "workflow":
      return runWorkflow(agent, inputs, ctx, invokeAgent);
  }
}

/**
 * `ctx.call`: run a child agent at `<path>/<key>`, recorded on the tape as one unit, so a
 * resumed run returns what a finished child produced instead of running it again. A child that
 * declares side effects gets the same promise as a workflow step (ProcAgent.sideEffects).
 */
export async function callChild(ctx: AgentContext, agent: string | Agent, inputs: Inputs, key: string): Promise<Outputs> {
  const resolved = typeof agent === "string" ? ctx.registry.get(agent) : agent;
  if (!resolved) throw new AgentError(`${ctx.path || "root"}: unknown agent "${agent as string}"`, "unknown-agent");
  const path = childPath(ctx.path, key);
  const resumed = ctx.resumed?.get(path);
  if (resumed?.status === "succeeded") return resumed.outputs;
  const effects = sideEffectsOf(resolved);
  const commit = effects ? { commit: true } : undefined;
  const child: AgentContext = effects ? { ...ctx, path, idempotencyKey: idempotencyKey(ctx.runId, path) } : { ...ctx, path };
  const started = ctx.clock.now();
  try {
    const done = effects ? await effectAlreadyDone(resolved as ProcAgent, effects, inputs, child, 1) : undefined;
    if (!done) ctx.tape?.record({ runId: ctx.runId, path, kind: "started", attempt: 1, inputs }, commit);
    const outputs = done ?? (await invokeAgent(resolved, inputs, child));
    ctx.tape?.record({ runId: ctx.runId, path, kind: "succeeded", attempt: 1, outputs, durationMs: ctx.clock.now() - started, status: "succeeded" }, commit);
    return outputs;
  } catch (error) {
    // A refusal leaves the tape as it was, so the step stays in doubt for the next resume.
    if (!(error instanceof InDoubtError && error.path === path)) {
      ctx.tape?.record({ runId: ctx.runId, path, kind: "failed", attempt: 1, error: errorMessage(error) }, commit);
    }
    throw error;
  }
}
