/**
 * The Steps tab's graph (React Flow): one node per step, placed by dependency depth, edges for
 * data wiring and order; steps with unwired inputs or problems are outlined red.
 */
import { useMemo } from "react";
import { Background, Controls, ReactFlow, type Edge, type Node } from "@xyflow/react";
import { stepReads } from "../logic/extract.js";
import type { AgentDoc } from "../logic/types.js";

export function StepGraph(props: { doc: AgentDoc; broken: ReadonlySet<string>; selected: string | null; onSelect(id: string): void }) {
  const { nodes, edges } = useMemo(() => layout(props.doc, props.broken, props.selected), [props.doc, props.broken, props.selected]);
  return (
    <div className="graph" aria-label="Workflow graph">
      <ReactFlow
        key={nodes.map((n) => n.id).join(" ")}
        nodes={nodes}
        edges={edges}
        colorMode="dark"
        fitView
        // A long workflow opens on its first steps, and only the nodes in view are drawn.
        fitViewOptions={{ maxZoom: 1, ...(nodes.length > 40 ? { nodes: nodes.slice(0, 4).map((n) => ({ id: n.id })) } : {}) }}
        onlyRenderVisibleElements
        nodesDraggable
        nodesConnectable={false}
        onNodeClick={(_, n) => props.onSelect(n.id)}
        proOptions={{ hideAttribution: true }}
        minZoom={0.05}
      >
        <Background gap={16} color="#333" />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}

function layout(doc: AgentDoc, broken: ReadonlySet<string>, selected: string | null): { nodes: Node[]; edges: Edge[] } {
  const steps = doc.steps ?? [];
  const ids = new Set(steps.map((s) => s.id));
  const sequential = steps.every((s) => s.dependsOn === undefined);
  const depth = new Map<string, number>();
  const edges: Edge[] = [];
  steps.forEach((s, i) => {
    let reads: Set<string>;
    try {
      reads = stepReads(s, doc.name);
    } catch {
      reads = new Set();
    }
    const deps = new Set<string>(sequential ? (i > 0 ? [steps[i - 1]!.id] : []) : (s.dependsOn ?? []));
    for (const r of reads) if (ids.has(r) && r !== s.id) {
      edges.push({ id: `d:${r}->${s.id}`, source: r, target: s.id, animated: false, style: { stroke: "#4fc1ff" } });
      deps.delete(r);
    }
    for (const d of deps) if (ids.has(d)) edges.push({ id: `o:${d}->${s.id}`, source: d, target: s.id, style: { stroke: "#666", strokeDasharray: "4 3" } });
    const before = [...reads, ...(sequential ? [] : (s.dependsOn ?? []))].filter((r) => depth.has(r));
    depth.set(s.id, sequential ? i : before.length ? Math.max(...before.map((r) => depth.get(r)!)) + 1 : 0);
  });
  const perLevel = new Map<number, number>();
  const nodes: Node[] = steps.map((s) => {
    const d = depth.get(s.id) ?? 0;
    const k = perLevel.get(d) ?? 0;
    perLevel.set(d, k + 1);
    const cls = ["step-node", broken.has(s.id) ? "broken" : "", selected === s.id ? "selected" : ""].filter(Boolean).join(" ");
    return {
      id: s.id,
      // Top to bottom by dependency depth; steps of one depth side by side.
      position: sequential ? { x: 0, y: d * 70 } : { x: k * 190, y: d * 80 },
      data: { label: `${s.id}\n${s.agent}` },
      className: cls,
    };
  });
  return { nodes, edges };
}
