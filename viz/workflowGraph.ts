/**
 * An agents workflow as a graph (docs/agents.md#visual-view): steps as boxes placed by
 * dependency depth (left to right), edges as lines coloured by kind (order, data wiring,
 * fallback, compensation); steps with unwired required inputs or problems are outlined red.
 * Takes the structural graph of agents (`workflowGraph(workflow, registry)`), so it
 * renders offline like every other chart, without a Mermaid runtime.
 */
import type { TopLevelSpec } from "vega-lite";
import { asDisplayable, VEGALITE_SCHEMA, type ChartSpec } from "./render.js";

export interface WorkflowGraphInput {
  name: string;
  nodes: Array<{ id: string; agent: string; unwired: string[]; problems: string[]; handler: boolean }>;
  edges: Array<{ from: string; to: string; kind: string }>;
}

const EDGE_KINDS = ["order", "data", "fallback", "compensate"];
const EDGE_COLOURS = ["#9d9d9d", "#4c78a8", "#f58518", "#e45756"];

/** Depth of each step: the longest chain of order/data edges leading to it. */
function layers(graph: WorkflowGraphInput): Map<string, number> {
  const depth = new Map(graph.nodes.map((n) => [n.id, 0]));
  const forward = graph.edges.filter((e) => e.kind === "order" || e.kind === "data");
  // Bellman-Ford style relaxation, bounded by the node count (cycles stop growing there).
  for (let round = 0; round < graph.nodes.length; round++) {
    let changed = false;
    for (const e of forward) {
      const next = (depth.get(e.from) ?? 0) + 1;
      if (depth.has(e.to) && next > depth.get(e.to)! && next < graph.nodes.length) {
        depth.set(e.to, next);
        changed = true;
      }
    }
    if (!changed) break;
  }
  // Handlers sit one column right of the step they serve.
  for (const e of graph.edges)
    if ((e.kind === "fallback" || e.kind === "compensate") && depth.has(e.to)) depth.set(e.to, (depth.get(e.from) ?? 0) + 1);
  return depth;
}

export function workflowGraphChart(graph: WorkflowGraphInput): ChartSpec {
  const depth = layers(graph);
  const rowInLayer = new Map<number, number>();
  const position = new Map<string, { x: number; y: number }>();
  for (const node of graph.nodes) {
    const x = depth.get(node.id)!;
    const y = rowInLayer.get(x) ?? 0;
    rowInLayer.set(x, y + 1);
    position.set(node.id, { x, y });
  }
  const nodes = graph.nodes.map((n) => ({
    id: n.id,
    agent: n.agent,
    ...position.get(n.id)!,
    status: n.unwired.length || n.problems.length ? "needs attention" : n.handler ? "handler" : "ok",
    detail: [...n.unwired.map((i) => `unwired: ${i}`), ...n.problems].join("; "),
  }));
  const edges = graph.edges
    .filter((e) => position.has(e.from) && position.has(e.to))
    .map((e) => ({ kind: e.kind, x: position.get(e.from)!.x, y: position.get(e.from)!.y, x2: position.get(e.to)!.x, y2: position.get(e.to)!.y }));
  const columns = Math.max(1, ...nodes.map((n) => n.x + 1));
  const rows = Math.max(1, ...nodes.map((n) => n.y + 1));
  const x = { field: "x", type: "quantitative" as const, axis: null, scale: { domain: [-0.5, columns - 0.5] } };
  const y = { field: "y", type: "quantitative" as const, axis: null, scale: { domain: [rows - 0.5, -0.5] } };
  const spec: TopLevelSpec = {
    $schema: VEGALITE_SCHEMA,
    title: { text: `Workflow ${graph.name}`, subtitle: `${nodes.length} steps, ${edges.length} edges; left to right by dependency depth` },
    width: Math.max(240, columns * 170),
    height: Math.max(120, rows * 70),
    layer: [
      {
        data: { values: edges },
        mark: { type: "rule", strokeWidth: 2 },
        encoding: {
          x,
          y,
          x2: { field: "x2" },
          y2: { field: "y2" },
          color: { field: "kind", type: "nominal", title: "edge", scale: { domain: EDGE_KINDS, range: EDGE_COLOURS } },
        },
      },
      {
        data: { values: nodes },
        layer: [
          {
            mark: { type: "point", shape: "square", size: 2600, filled: true, fill: "white", strokeWidth: 2 },
            encoding: {
              x,
              y,
              stroke: {
                field: "status",
                type: "nominal",
                title: "step",
                scale: { domain: ["ok", "handler", "needs attention"], range: ["#4c78a8", "#b279a2", "#e45756"] },
              },
              tooltip: [{ field: "id" }, { field: "agent" }, { field: "detail" }],
            },
          },
          { mark: { type: "text", dy: -6, fontWeight: "bold" }, encoding: { x, y, text: { field: "id" } } },
          { mark: { type: "text", dy: 8, fontSize: 9, color: "#555" }, encoding: { x, y, text: { field: "agent" } } },
        ],
      },
    ],
  };
  return asDisplayable(spec);
}
