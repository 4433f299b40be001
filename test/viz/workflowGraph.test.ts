/** The agents workflow graph chart: validates, renders, and draws one box per step and one line per edge. */
import { describe, expect, it } from "vitest";
import { compile } from "vega-lite";
import { defineProc, defineWorkflow, AgentRegistry, workflowGraph } from "../../agents/index.js";
import { renderSvg, workflowGraphChart } from "../../viz/index.js";

const echo = defineProc({ name: "echo", help: "echo", inputs: { text: { help: "text" } }, outputs: { text: { help: "text" } }, run: ({ text }) => ({ text }) });

describe("workflowGraphChart", () => {
  it("draws steps by depth with their edges, and flags an unwired input", async () => {
    const registry = new AgentRegistry([echo]);
    const flow = defineWorkflow({
      name: "three",
      help: "a → b, a → c (c unwired)",
      steps: [
        { id: "a", agent: "echo", inputs: { text: "hi" } },
        { id: "b", agent: "echo", inputs: { text: "{{a.text}}" } },
        { id: "c", agent: "echo", dependsOn: ["a"] },
      ],
    });
    const graph = workflowGraph(flow, registry);
    const spec = workflowGraphChart(graph);
    expect(() => compile(spec)).not.toThrow();
    const svg = await renderSvg(spec);
    for (const id of ["a", "b", "c"]) expect(svg).toContain(`>${id}</text>`);
    expect(svg).toContain("needs attention");
    // b and c are one column right of a: the rules start at a's column.
    expect(graph.edges.filter((e) => e.from === "a").length).toBeGreaterThanOrEqual(2);
  });
});
