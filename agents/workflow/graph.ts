/**
 * A workflow as a graph, for the notebook view (docs/agents.md#visual-view): steps as nodes with
 * their unwired inputs and problems, edges for ordering, data wiring and failure handlers.
 * `toMermaid` renders it as Mermaid text (unwired / broken steps highlighted).
 */
import type { AgentLookup, WorkflowAgent } from "../types.js";
import { compiledValueNames, inspectWorkflow } from "./plan.js";

export interface GraphNode {
  id: string;
  agent: string;
  kind: "proc" | "template" | "workflow" | "unknown";
  /** Required inputs of the agent that the step does not wire. */
  unwired: string[];
  problems: string[];
  /** Only runs as another step's fallback / compensation. */
  handler: boolean;
}

export interface GraphEdge {
  from: string;
  to: string;
  kind: "order" | "data" | "fallback" | "compensate";
  /** For data edges: the inputs of `to` that read `from`. */
  inputs?: string[];
}

export interface WorkflowGraph {
  name: string;
  inputs: string[];
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Problems of the workflow as a whole (cycles, bad outputs). */
  problems: string[];
}

export function workflowGraph(workflow: WorkflowAgent, registry: AgentLookup): WorkflowGraph {
  const { plan, problems } = inspectWorkflow(workflow, registry);
  const nodes: GraphNode[] = plan.steps.map((s) => ({
    id: s.id,
    agent: s.spec.agent,
    kind: s.agent?.kind ?? "unknown",
    unwired: s.agent ? Object.keys(s.agent.inputs).filter((i) => !(i in (s.spec.inputs ?? {}))) : [],
    problems: problems.filter((p) => p.step === s.id).map((p) => p.message),
    handler: s.handlerOf !== null,
  }));
  const edges: GraphEdge[] = [];
  for (const s of plan.steps) {
    for (const d of s.deps) edges.push({ from: plan.steps[d]!.id, to: s.id, kind: "order" });
    const reads = new Map<string, string[]>();
    for (const [input, value] of s.inputs) {
      for (const name of compiledValueNames(value)) {
        if (plan.byId.has(name)) reads.set(name, [...(reads.get(name) ?? []), input]);
      }
    }
    for (const [from, inputs] of reads) edges.push({ from, to: s.id, kind: "data", inputs });
    const f = s.spec.onFailure;
    if (f && typeof f === "object") {
      if ("fallback" in f) edges.push({ from: s.id, to: f.fallback, kind: "fallback" });
      else edges.push({ from: s.id, to: f.compensate, kind: "compensate" });
    }
  }
  return {
    name: workflow.name,
    inputs: [...Object.keys(workflow.inputs), ...Object.keys(workflow.optionalInputs)],
    nodes,
    edges,
    problems: problems.filter((p) => p.step === "").map((p) => p.message),
  };
}

/** Mermaid flowchart text: steps with problems or unwired inputs get the `broken` class (red). */
export function toMermaid(graph: WorkflowGraph): string {
  const id = (s: string) => `n_${s.replace(/[^A-Za-z0-9_]/g, "_")}`;
  const lines = ["flowchart TD", "  classDef broken stroke:#e5484d,stroke-width:3px;", "  classDef handler stroke-dasharray: 4 3;"];
  for (const n of graph.nodes) {
    const unwired = n.unwired.length ? `<br/>unwired: ${n.unwired.join(", ")}` : "";
    lines.push(`  ${id(n.id)}["${n.id}<br/><i>${n.agent}</i>${unwired}"]`);
    if (n.unwired.length || n.problems.length) lines.push(`  class ${id(n.id)} broken;`);
    else if (n.handler) lines.push(`  class ${id(n.id)} handler;`);
  }
  for (const e of graph.edges) {
    if (e.kind === "order") lines.push(`  ${id(e.from)} --> ${id(e.to)}`);
    else if (e.kind === "data") lines.push(`  ${id(e.from)} -. "${e.inputs!.join(", ")}" .-> ${id(e.to)}`);
    else lines.push(`  ${id(e.from)} -. ${e.kind} .-> ${id(e.to)}`);
  }
  return lines.join("\n");
}
