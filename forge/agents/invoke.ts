/**
 * Calling one agent, whatever its kind: check its inputs, pass --dry-run to agents that
 * declare a `dryRun` input, dispatch (proc → function, template → render, workflow →
 * executor), and check the outputs it declared are there.
 */
import { AgentError, errorMessage } from "./errors.js";
import { checkInputs } from "./define.js";
import { objectScope, parseTemplate, renderTemplate, type Template } from "./expressions/index.js";
import { childPath, runWorkflow } from "./workflow/execute.js";
import type { Agent, AgentContext, Inputs, Outputs, TemplateAgent } from "./types.js";

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
      return runWorkflow(agent, inputs, ctx);
  }
}

function checkOutputs(agent: Agent, outputs: unknown): Outputs {
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

/**
 * `ctx.call`: run a child agent at `<path>/<key>`, recorded on the tape as one unit, so a
 * resumed run returns what a finished child produced instead of running it again.
 */
export async function callChild(ctx: AgentContext, agent: string | Agent, inputs: Inputs, key: string): Promise<Outputs> {
  const resolved = typeof agent === "string" ? ctx.registry.get(agent) : agent;
  if (!resolved) throw new AgentError(`${ctx.path || "root"}: unknown agent "${agent as string}"`, "unknown-agent");
  const path = childPath(ctx.path, key);
  const resumed = ctx.resumed?.get(path);
  if (resumed?.status === "succeeded") return resumed.outputs;
  const started = ctx.clock.now();
  ctx.tape?.record({ runId: ctx.runId, path, kind: "started", attempt: 1, inputs });
  try {
    const outputs = await invokeAgent(resolved, inputs, { ...ctx, path });
    ctx.tape?.record({ runId: ctx.runId, path, kind: "succeeded", attempt: 1, outputs, durationMs: ctx.clock.now() - started, status: "succeeded" });
    return outputs;
  } catch (error) {
    ctx.tape?.record({ runId: ctx.runId, path, kind: "failed", attempt: 1, error: errorMessage(error) });
    throw error;
  }
}
