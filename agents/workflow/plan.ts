/**
 * Planning a workflow: resolve agents, build the dependency graph, compile every template
 * and condition, and check it all — collecting EVERY problem (unknown agent, cycle,
 * unwired required input, reference to a step that is not upstream, …) before anything runs.
 */
import {
  hasHoles,
  parseCondition,
  parseTemplate,
  rootNames,
  templateRootNames,
  type Expression,
  type Template,
} from "../expressions/index.js";
import { ExpressionError, WorkflowValidationError, type ValidationProblem } from "../errors.js";
import { sideEffectsOf } from "../effects.js";
import type { Agent, AgentLookup, SideEffects, StepSpec, WorkflowAgent } from "../types.js";

/** A step input compiled once: literal, template, or a container holding templates. */
export type CompiledValue =
  | { kind: "literal"; value: unknown }
  | { kind: "template"; template: Template }
  | { kind: "array"; items: CompiledValue[] }
  | { kind: "object"; entries: Array<[string, CompiledValue]> };

export interface PlannedStep {
  index: number;
  id: string;
  spec: StepSpec;
  agent: Agent | undefined;
  /** Indices of the steps this one waits for. */
  deps: number[];
  dependents: number[];
  inputs: Array<[string, CompiledValue]>;
  condition: Expression | null;
  /** Target of another step's fallback/compensate: never scheduled on its own. */
  handlerOf: number | null;
  /** For error messages: `workflow "w", step "s"`. */
  where: string;
  /** The agent's side-effect declaration; null for pure agents (the fast path). */
  effects: SideEffects | null;
}

export interface Plan {
  workflow: WorkflowAgent;
  steps: PlannedStep[];
  byId: Map<string, number>;
  /** Scheduled (non-handler) steps with no dependencies, in declaration order. */
  roots: number[];
  returns: Array<[string, Template]>;
  /** Every scheduled step depends on the one before (the workflow declares no dependsOn). */
  sequential: boolean;
  /**
   * `$name` variables read that are not workflow inputs (name without `$` → where the first
   * template reading it is, and its text): they must come from the caller's env / allowEnv
   * (checked when the run starts).
   */
  variables: Map<string, { where: string; source: string }>;
}

function compileValue(value: unknown, where: string): CompiledValue {
  if (typeof value === "string") {
    return hasHoles(value) ? { kind: "template", template: parseTemplate(value, where) } : { kind: "literal", value };
  }
  if (Array.isArray(value)) {
    const items = value.map((v) => compileValue(v, where));
    return items.every((i) => i.kind === "literal") ? { kind: "literal", value } : { kind: "array", items };
  }
  if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const entries = Object.entries(value).map(([k, v]): [string, CompiledValue] => [k, compileValue(v, where)]);
    return entries.every(([, c]) => c.kind === "literal") ? { kind: "literal", value } : { kind: "object", entries };
  }
  return { kind: "literal", value };
}

function valueRootNames(value: CompiledValue, into: Set<string>): void {
  if (value.kind === "template") for (const n of templateRootNames(value.template)) into.add(n);
  else if (value.kind === "array") value.items.forEach((i) => valueRootNames(i, into));
  else if (value.kind === "object") value.entries.forEach(([, v]) => valueRootNames(v, into));
}

function handlerTarget(spec: StepSpec): string | null {
  const f = spec.onFailure;
  if (!f || typeof f === "string") return null;
  return "fallback" in f ? f.fallback : f.compensate;
}

const plans = new WeakMap<WorkflowAgent, { registry: AgentLookup; plan: Plan }>();

/** Plan (cached per workflow object and registry); throws WorkflowValidationError with every problem. */
export function planWorkflow(workflow: WorkflowAgent, registry: AgentLookup): Plan {
  const cached = plans.get(workflow);
  if (cached && cached.registry === registry) return cached.plan;
  const { plan, problems } = buildPlan(workflow, registry);
  if (problems.length > 0) throw new WorkflowValidationError(workflow.name, problems);
  plans.set(workflow, { registry, plan });
  return plan;
}

/** Every problem of a workflow (empty when it is valid). */
export function validateWorkflow(workflow: WorkflowAgent, registry: AgentLookup): ValidationProblem[] {
  return buildPlan(workflow, registry).problems;
}

/** The plan as far as it can be built, with every problem (for editors and graph views). */
export function inspectWorkflow(workflow: WorkflowAgent, registry: AgentLookup): { plan: Plan; problems: ValidationProblem[] } {
  return buildPlan(workflow, registry);
}

/** Names read by one compiled input (step ids, workflow inputs, `$variables`). */
export function compiledValueNames(value: CompiledValue): Set<string> {
  const names = new Set<string>();
  valueRootNames(value, names);
  return names;
}

function buildPlan(workflow: WorkflowAgent, registry: AgentLookup): { plan: Plan; problems: ValidationProblem[] } {
  const problems: ValidationProblem[] = [];
  const problem = (step: string, code: ValidationProblem["code"], message: string) => problems.push({ step, code, message });
  const wfInputs = new Set([...Object.keys(workflow.inputs), ...Object.keys(workflow.optionalInputs)]);

  // 1. Ids.
  const byId = new Map<string, number>();
  workflow.steps.forEach((spec, index) => {
    if (!spec.id) problem("", "unknown-step", `step #${index + 1} has no id`);
    else if (byId.has(spec.id)) problem(spec.id, "duplicate-step", `the id "${spec.id}" is used twice`);
    else byId.set(spec.id, index);
    if (wfInputs.has(spec.id)) problem(spec.id, "duplicate-step", `the id "${spec.id}" is also a workflow input`);
  });

  const steps: PlannedStep[] = workflow.steps.map((spec, index) => ({
    index,
    id: spec.id,
    spec,
    agent: registry.get(spec.agent),
    deps: [],
    dependents: [],
    inputs: [],
    condition: null,
    handlerOf: null,
    where: `workflow "${workflow.name}", step "${spec.id}"`,
    effects: null,
  }));
  for (const step of steps) step.effects = sideEffectsOf(step.agent);

  // 2. Fallback / compensation handlers.
  for (const step of steps) {
    const target = handlerTarget(step.spec);
    if (target === null) continue;
    const t = byId.get(target);
    if (t === undefined) problem(step.id, "bad-handler", `onFailure names step "${target}", which does not exist`);
    else if (t === step.index) problem(step.id, "bad-handler", "onFailure names the step itself");
    else if (steps[t]!.handlerOf !== null && steps[t]!.handlerOf !== step.index) {
      problem(target, "bad-handler", `is the onFailure handler of two steps ("${steps[steps[t]!.handlerOf!]!.id}" and "${step.id}")`);
    } else steps[t]!.handlerOf = step.index;
  }

  // 3. Agents and inputs.
  for (const step of steps) {
    if (!step.agent) {
      problem(step.id, "unknown-agent", `agent "${step.spec.agent}" is not registered`);
    }
    const given = step.spec.inputs ?? {};
    for (const [name, value] of Object.entries(given)) {
      try {
        step.inputs.push([name, compileValue(value, `${step.where}, input "${name}"`)]);
      } catch (error) {
        problem(step.id, "bad-expression", (error as ExpressionError).message);
      }
      if (step.agent && !(name in step.agent.inputs) && !(name in step.agent.optionalInputs)) {
        problem(step.id, "unknown-input", `input "${name}" is not declared by agent "${step.agent.name}"`);
      }
    }
    if (step.agent) {
      for (const name of Object.keys(step.agent.inputs)) {
        if (!(name in given)) {
          problem(step.id, "unwired-input", `required input "${name}" of agent "${step.agent.name}" is not wired`);
        }
      }
    }
    if (step.spec.condition !== undefined) {
      try {
        step.condition = parseCondition(step.spec.condition, `${step.where}, condition`);
      } catch (error) {
        problem(step.id, "bad-expression", (error as ExpressionError).message);
      }
    }
  }

  // 4. Dependencies: explicit when any scheduled step declares dependsOn (even `[]`), else declaration order.
  const scheduled = steps.filter((s) => s.handlerOf === null);
  const sequential = scheduled.every((s) => s.spec.dependsOn === undefined);
  if (sequential) {
    for (let i = 1; i < scheduled.length; i++) scheduled[i]!.deps.push(scheduled[i - 1]!.index);
  }
  for (const step of steps) {
    for (const dep of step.spec.dependsOn ?? []) {
      const d = byId.get(dep);
      if (d === undefined) problem(step.id, "unknown-step", `dependsOn names step "${dep}", which does not exist`);
      else if (steps[d]!.handlerOf !== null) problem(step.id, "bad-handler", `dependsOn names "${dep}", an onFailure handler that only runs on failure`);
      else if (!step.deps.includes(d)) step.deps.push(d);
    }
  }
  for (const step of steps) for (const d of step.deps) steps[d]!.dependents.push(step.index);

  // 5. Cycles (Kahn): whatever cannot be ordered lies on or behind a cycle.
  const indegree = steps.map((s) => s.deps.length);
  const order: number[] = [];
  const queue = steps.filter((s) => s.deps.length === 0).map((s) => s.index);
  while (queue.length > 0) {
    const i = queue.pop()!;
    order.push(i);
    for (const d of steps[i]!.dependents) if (--indegree[d] === 0) queue.push(d);
  }
  const cyclic = new Set(steps.filter((_, i) => indegree[i]! > 0).map((s) => s.index));
  if (cyclic.size > 0) {
    problem("", "cycle", `dependency cycle among steps ${[...cyclic].map((i) => `"${steps[i]!.id}"`).join(", ")}`);
  }

  // 6. References: a step may read workflow inputs and the results of its upstream steps.
  const position = new Map(order.map((i, k) => [i, k]));
  const ancestorCache = new Map<number, Set<number>>();
  const ancestors = (i: number): Set<number> => {
    let set = ancestorCache.get(i);
    if (set) return set;
    set = new Set<number>();
    const stack = [...steps[i]!.deps];
    while (stack.length > 0) {
      const d = stack.pop()!;
      if (set.has(d)) continue;
      set.add(d);
      stack.push(...steps[d]!.deps);
    }
    ancestorCache.set(i, set);
    return set;
  };
  const isUpstream = (ref: number, of: PlannedStep): boolean => {
    if (of.handlerOf !== null) {
      const owner = steps[of.handlerOf]!;
      return ref === owner.index || isUpstream(ref, owner);
    }
    if (cyclic.has(of.index)) return false;
    if (sequential) return ref < of.index && steps[ref]!.handlerOf === null;
    if ((position.get(ref) ?? Infinity) >= (position.get(of.index) ?? -1)) return false;
    return ancestors(of.index).has(ref);
  };
  const variables = new Map<string, { where: string; source: string }>();
  const checkNames = (names: Set<string>, step: PlannedStep | null, what: string, at?: { where: string; source: string }) => {
    for (const name of names) {
      if (name.startsWith("$")) {
        // Variables: workflow inputs, else the caller's env (known only at run time).
        const bare = name.slice(1);
        if (!wfInputs.has(bare) && !variables.has(bare) && at) variables.set(bare, at);
        continue;
      }
      const ref = byId.get(name);
      if (ref !== undefined) {
        if (step && !isUpstream(ref, step)) {
          problem(step.id, "not-upstream", `${what} reads step "${name}", which is not upstream of it (add it to dependsOn)`);
        }
      } else if (!wfInputs.has(name)) {
        problem(step?.id ?? "", "unknown-name", `${what} reads "${name}", which is neither a workflow input nor a step`);
      }
    }
  };
  for (const step of steps) {
    for (const [name, value] of step.inputs) {
      const names = new Set<string>();
      valueRootNames(value, names);
      const given = step.spec.inputs?.[name];
      const source = typeof given === "string" ? given : JSON.stringify(given);
      checkNames(names, step, `input "${name}"`, { where: `${step.where}, input "${name}"`, source });
    }
    if (step.condition) {
      checkNames(rootNames(step.condition), step, "the condition", { where: `${step.where}, condition`, source: step.condition.source });
    }
  }

  const returns: Array<[string, Template]> = [];
  for (const [name, source] of Object.entries(workflow.returns)) {
    try {
      const template = parseTemplate(source, `workflow "${workflow.name}", output "${name}"`);
      returns.push([name, template]);
      checkNames(templateRootNames(template), null, `output "${name}"`, { where: `workflow "${workflow.name}", output "${name}"`, source });
    } catch (error) {
      problem("", "bad-expression", (error as ExpressionError).message);
    }
  }

  const roots = scheduled.filter((s) => s.deps.length === 0).map((s) => s.index);
  return { plan: { workflow, steps, byId, roots, returns, sequential, variables }, problems };
}
