/**
 * The decision tree across the batch: every stream's path at sequence level ("setup >
 * control > reasoning > control > …"), merged into a prefix tree drawn as an icicle.
 * Columns are successive sequence visits, each band's height is the number of streams
 * that went that way, and each distinct path ends in a grey "end" cell with its stream
 * count. Beyond `maxPaths` distinct paths the rarest are lumped into one band, and the
 * subtitle says how many.
 */
import type { TopLevelSpec } from "vega-lite";
import { sequenceVisits, type Run, type StreamStatus } from "../forge/run/index.js";
import { VizError } from "./errors.js";
import { asDisplayable, shortRunId, VEGALITE_SCHEMA, type ChartSpec } from "./render.js";

export interface DecisionTreeOptions {
  /** Most distinct paths drawn; rarer ones are lumped together (default 30). */
  maxPaths?: number;
  height?: number;
}

export const DEFAULT_MAX_PATHS = 30;

/** One distinct path through the workflow and the streams that took it. */
export interface DistinctPath {
  sequences: string[];
  streams: number;
  statuses: Partial<Record<StreamStatus, number>>;
}

/** The distinct sequence-level paths of a run, most common first. */
export function distinctPaths(run: Run): DistinctPath[] {
  const byKey = new Map<string, DistinctPath>();
  run.paths.forEach((path, i) => {
    const sequences = sequenceVisits(path).map((visit) => visit.sequence);
    const key = JSON.stringify(sequences);
    const entry = byKey.get(key) ?? { sequences, streams: 0, statuses: {} };
    entry.streams++;
    const status = run.streams[i]!.status;
    entry.statuses[status] = (entry.statuses[status] ?? 0) + 1;
    byKey.set(key, entry);
  });
  return [...byKey.values()].sort(
    (a, b) => b.streams - a.streams || a.sequences.join(">").localeCompare(b.sequences.join(">")),
  );
}

interface TreeNode {
  sequence: string;
  streams: number;
  children: Map<string, TreeNode>;
  /** The distinct path that ends at this node, if any. */
  ending: DistinctPath | null;
}

type Cell = { x0: number; x1: number; y0: number; y1: number; streams: number; label: string; sequence: string; path: string };

export function decisionTreeChart(run: Run, opts: DecisionTreeOptions = {}): ChartSpec {
  const total = run.streams.length;
  const all = distinctPaths(run);
  const maxPaths = opts.maxPaths ?? DEFAULT_MAX_PATHS;
  if (!Number.isInteger(maxPaths) || maxPaths < 1) throw new VizError("decisionTreeChart", `maxPaths must be a whole number ≥ 1 (got ${maxPaths})`);
  const kept = all.slice(0, maxPaths);
  const lumped = all.slice(kept.length);
  const lumpedStreams = lumped.reduce((n, p) => n + p.streams, 0);

  const root: TreeNode = { sequence: "", streams: 0, children: new Map(), ending: null };
  for (const path of kept) {
    let node = root;
    node.streams += path.streams;
    for (const sequence of path.sequences) {
      let child = node.children.get(sequence);
      if (!child) node.children.set(sequence, (child = { sequence, streams: 0, children: new Map(), ending: null }));
      child.streams += path.streams;
      node = child;
    }
    node.ending = path;
  }

  // Lay the tree out: depth → x column, streams → y band (the root itself is not drawn).
  const nodes: Cell[] = [];
  const ends: Cell[] = [];
  const layout = (node: TreeNode, depth: number, y0: number, prefix: string[]): void => {
    let y = y0;
    if (node.ending) {
      const e = node.ending;
      const statuses = Object.entries(e.statuses)
        .map(([status, n]) => `${n} ${status}`)
        .join(", ");
      ends.push({
        x0: depth, x1: depth + 1, y0: y, y1: y + e.streams, streams: e.streams, sequence: "end",
        label: `end\n${e.streams} stream${e.streams === 1 ? "" : "s"}`, path: `${prefix.join(" > ")} (${statuses})`,
      });
      y += e.streams;
    }
    const children = [...node.children.values()].sort((a, b) => b.streams - a.streams || a.sequence.localeCompare(b.sequence));
    for (const child of children) {
      const path = [...prefix, child.sequence];
      nodes.push({
        x0: depth, x1: depth + 1, y0: y, y1: y + child.streams, streams: child.streams, sequence: child.sequence,
        label: `${child.sequence}\n${child.streams}`, path: path.join(" > "),
      });
      layout(child, depth + 1, y, path);
      y += child.streams;
    }
  };
  layout(root, 0, 0, []);

  const columns = Math.max(1, ...ends.map((e) => e.x1), ...nodes.map((n) => n.x1));
  const columnWidth = Math.max(40, Math.min(110, Math.floor(1300 / columns)));
  const height = opts.height ?? 500;
  // Only label bands tall enough to hold a line of text.
  const tallEnough = (c: Cell) => ((c.y1 - c.y0) / Math.max(1, total)) * height >= 24;
  const others = lumped.length
    ? [{ x0: 0, x1: columns, y0: total - lumpedStreams, y1: total, label: `${lumped.length} other paths, ${lumpedStreams} streams` }]
    : [];

  const subtitle =
    `${all.length} distinct path${all.length === 1 ? "" : "s"} over ${total} streams` +
    (lumped.length ? `; showing the ${kept.length} most common, the other ${lumped.length} (${lumpedStreams} streams) lumped at the bottom` : "");

  const x = { field: "x0", type: "quantitative" as const, axis: null, scale: { domain: [0, columns] } };
  const y = { field: "y0", type: "quantitative" as const, title: "streams", scale: { domain: [0, Math.max(1, total)], reverse: true } };
  const centre = [
    { calculate: "(datum.x0 + datum.x1) / 2", as: "xc" },
    { calculate: "(datum.y0 + datum.y1) / 2", as: "yc" },
  ];
  const textAt = {
    x: { field: "xc", type: "quantitative" as const, axis: null, scale: { domain: [0, columns] } },
    y: { field: "yc", type: "quantitative" as const, scale: { domain: [0, Math.max(1, total)], reverse: true } },
    text: { field: "label", type: "nominal" as const },
  };
  const textMark = { type: "text" as const, fontSize: 10, lineBreak: "\n", limit: columnWidth - 6 };

  const spec: TopLevelSpec = {
    $schema: VEGALITE_SCHEMA,
    description: `Decision tree of run ${run.meta.runId}`,
    title: { text: `Decision tree — ${shortRunId(run.meta.runId)}`, subtitle },
    width: columnWidth * columns,
    height,
    layer: [
      {
        name: "tree_nodes",
        data: { values: nodes },
        mark: { type: "rect", stroke: "white", strokeWidth: 1, tooltip: true },
        encoding: {
          x, x2: { field: "x1" }, y, y2: { field: "y1" },
          color: { field: "sequence", type: "nominal", title: "sequence" },
          tooltip: [{ field: "path", type: "nominal" }, { field: "streams", type: "quantitative" }],
        },
      },
      {
        name: "path_ends",
        data: { values: ends },
        mark: { type: "rect", stroke: "white", strokeWidth: 1, color: "#bbbbbb", tooltip: true },
        encoding: {
          x, x2: { field: "x1" }, y, y2: { field: "y1" },
          tooltip: [{ field: "path", type: "nominal" }, { field: "streams", type: "quantitative" }],
        },
      },
      {
        name: "other_paths",
        data: { values: others },
        mark: { type: "rect", color: "#dddddd", stroke: "white" },
        encoding: { x, x2: { field: "x1" }, y, y2: { field: "y1" } },
      },
      {
        name: "tree_labels",
        data: { values: [...nodes, ...ends].filter(tallEnough) },
        transform: centre,
        mark: textMark,
        encoding: textAt,
      },
      {
        name: "other_label",
        data: { values: others },
        transform: centre,
        mark: { ...textMark, limit: columnWidth * columns - 6 },
        encoding: textAt,
      },
    ],
  };
  return asDisplayable(spec);
}
