/**
 * SFCS operations → RZCP graph (docs/language.md#rzcp-the-resolved-graph). Zones are laid out in program order; each
 * operation returns its entry zone and its open exits (edges still pointing "after me"),
 * which the next operation patches to its own entry. Whatever is open at the end → END.
 *
 *   run(seq)              zones in order on the nominal path
 *   loop(head, body)      head's last zone is a jump site: next → body, jump → after the loop;
 *                         the body's exits return to the head's first zone (back edge)
 *   when(cond, if, else)  cond's last zone is a jump site: next → if, jump → else (or after);
 *                         both branches' exits go after the when
 */
import { END, type SzcpConfig, type SzcpExtraction } from "../szcp/types.js";
import type { ZcpSequence } from "../zcp/types.js";
import type { FlowOp, RzcpGraph, RzcpNode } from "./types.js";

interface Exit {
  node: number;
  edge: "next" | "jump";
}

interface Fragment {
  entry: number | null;
  exits: Exit[];
}

export interface BuildOptions {
  config: SzcpConfig;
  extractions: SzcpExtraction[];
  meta: Record<string, string>;
}

export function buildGraph(ops: readonly FlowOp[], options: BuildOptions): RzcpGraph {
  const nodes: RzcpNode[] = [];
  let counters = 0;
  const argumentNames = new Set<string>();

  const patch = (exits: Exit[], target: number): void => {
    for (const exit of exits) nodes[exit.node][exit.edge] = target;
  };

  /** Appends a sequence's zones chained on the nominal path; returns first and last ids. */
  const layOut = (sequence: ZcpSequence, op: FlowOp): { first: number; last: number } => {
    const first = nodes.length;
    for (const zone of sequence.zones) {
      for (const part of zone.parts) if (part.kind === "placeholder" && part.spec.type === "argument") argumentNames.add(part.spec.resource);
      nodes.push({
        zone,
        next: nodes.length + 1,
        jump: null,
        loop: null,
        capture: null,
        feed: null,
        programResources: op.programResources,
        args: op.args,
        site: op.site,
      });
    }
    const last = nodes.length - 1;
    nodes[last].next = END;
    return { first, last };
  };

  const emitList = (list: readonly FlowOp[]): Fragment => {
    let entry: number | null = null;
    let open: Exit[] = [];
    for (const op of list) {
      const fragment = emitOp(op);
      if (fragment.entry === null) continue;
      if (entry === null) entry = fragment.entry;
      patch(open, fragment.entry);
      open = fragment.exits;
    }
    return { entry, exits: open };
  };

  const emitOp = (op: FlowOp): Fragment => {
    switch (op.kind) {
      case "run": {
        const { first, last } = layOut(op.sequence, op);
        nodes[last].capture = op.capture;
        nodes[last].feed = op.feed;
        return { entry: first, exits: [{ node: last, edge: "next" }] };
      }
      case "loop": {
        const head = layOut(op.head, op);
        nodes[head.last].loop = { counter: counters++, min: op.min, max: op.max };
        const body = emitList(op.body);
        nodes[head.last].next = body.entry ?? head.first;
        patch(body.exits, head.first);
        return { entry: head.first, exits: [{ node: head.last, edge: "jump" }] };
      }
      case "when": {
        const cond = layOut(op.condition, op);
        const ifBranch = emitList(op.ifBranch);
        const elseBranch = emitList(op.elseBranch);
        const exits: Exit[] = [];
        if (ifBranch.entry === null) exits.push({ node: cond.last, edge: "next" });
        else {
          nodes[cond.last].next = ifBranch.entry;
          exits.push(...ifBranch.exits);
        }
        if (elseBranch.entry === null) exits.push({ node: cond.last, edge: "jump" });
        else {
          nodes[cond.last].jump = elseBranch.entry;
          exits.push(...elseBranch.exits);
        }
        return { entry: cond.first, exits };
      }
    }
  };

  const program = emitList(ops);
  patch(program.exits, END);
  return {
    config: options.config,
    nodes,
    counters,
    extractions: options.extractions,
    argumentNames: [...argumentNames].sort(),
    meta: options.meta,
  };
}
