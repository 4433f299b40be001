/**
 * Random SFCS programs → RZCP → SZCP: every edge lands inside the zone list, every loop
 * head is a jump site with its own counter, and every zone is reachable from zone 0.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lowerGraph } from "../../../forge/rzcp/index.js";
import { newProgram, type FlowScope } from "../../../forge/sfcs/index.js";
import { deserializeWorkflow, END, serializeWorkflow } from "../../../forge/szcp/index.js";
import { parseUdpl } from "../../../forge/udpl/index.js";

const { sequences, config } = parseUdpl(`[config]
zone_tokens = ["[P]", "[A]", "[E]"]
sequences = ["a", "b"]
control_token = "[J]"
[[a]]
text = "[P] a [A]"
[[b]]
text = "[P] b1 [A]"
[[b]]
text = "[P] b2 [A]"
repeats = 2
`);

type Node = { kind: "run"; seq: "a" | "b" } | { kind: "loop"; seq: "a" | "b"; body: Node[] } | { kind: "when"; seq: "a" | "b"; ifB: Node[]; elseB: Node[] };

const seqArb = fc.constantFrom<"a" | "b">("a", "b");
const { tree } = fc.letrec<{ tree: Node[]; node: Node }>((tie) => ({
  tree: fc.array(tie("node"), { minLength: 1, maxLength: 3 }),
  node: fc.oneof(
    { depthSize: "small", maxDepth: 3, withCrossShrink: true },
    seqArb.map((seq): Node => ({ kind: "run", seq })),
    fc.record({ kind: fc.constant("loop" as const), seq: seqArb, body: tie("tree") }),
    fc.record({ kind: fc.constant("when" as const), seq: seqArb, ifB: tie("tree"), elseB: fc.oneof(fc.constant([] as Node[]), tie("tree")) }),
  ),
}));

function record(scope: FlowScope, nodes: Node[]): void {
  for (const n of nodes) {
    if (n.kind === "run") scope.run(n.seq);
    else if (n.kind === "loop") scope.loop(n.seq, (body) => record(body, n.body));
    else scope.when(n.seq, (ifB, elseB) => {
      record(ifB, n.ifB);
      record(elseB, n.elseB);
    });
  }
}

const count = (nodes: Node[], kind: Node["kind"]): number =>
  nodes.reduce((s, n) => s + (n.kind === kind ? 1 : 0) + (n.kind === "loop" ? count(n.body, kind) : n.kind === "when" ? count(n.ifB, kind) + count(n.elseB, kind) : 0), 0);

describe("RZCP graphs of random programs", () => {
  it("are well-formed SZCP", () => {
    fc.assert(
      fc.property(tree, (nodes) => {
        const p = newProgram(sequences, {}, config);
        record(p, nodes);
        const factory = p.compile();
        const w = lowerGraph(factory.graph);
        const Z = w.zones.length;
        const inRange = (t: number | null): boolean => t === null || (Number.isInteger(t) && t >= END && t < Z);
        expect(w.zones.filter((z) => !inRange(z.next) || !inRange(z.jump))).toEqual([]);
        expect(w.zones.filter((z) => z.jump !== null)).toHaveLength(count(nodes, "loop") + count(nodes, "when"));
        expect(w.zones.filter((z) => z.loop).map((z) => z.loop!.counter).sort((x, y) => x - y)).toEqual(Array.from({ length: count(nodes, "loop") }, (_, i) => i));
        // Reachability from zone 0 over next and jump edges.
        const seen = new Set<number>([0]);
        const stack = [0];
        while (stack.length) {
          const z = w.zones[stack.pop()!];
          for (const t of [z.next, z.jump]) if (t !== null && t !== END && !seen.has(t)) seen.add(t), stack.push(t);
        }
        expect(seen.size).toBe(Z);
        // END is reachable: some zone leads out.
        expect(w.zones.some((z) => z.next === END || z.jump === END)).toBe(true);
        expect(serializeWorkflow(deserializeWorkflow(serializeWorkflow(w)))).toBe(serializeWorkflow(w));
      }),
      { numRuns: 250, seed: 11 },
    );
  });

  it("a loop's body returns to the head's first zone", () => {
    const p = newProgram(sequences, {}, config);
    p.loop("b", (body) => body.run("a"));
    const w = p.compile()();
    // b: 3 blocks' worth of zones (b1, b2 ×2) = 6 zones; a: 2 zones.
    expect(w.zones.map((z) => `${z.sequence}${z.block}.${z.repetition}.${z.zone}`)).toEqual(["b0.0.0", "b0.0.1", "b1.0.0", "b1.0.1", "b1.1.0", "b1.1.1", "a0.0.0", "a0.0.1"]);
    expect(w.zones[5]).toMatchObject({ next: 6, jump: END, loop: { counter: 0 } });
    expect(w.zones[7].next).toBe(0);
  });
});
