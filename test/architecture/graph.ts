/**
 * The repository's import graph, for the layering tests (imports.test.ts) and the figures of
 * a refactoring (graph-report.ts): every .ts/.tsx/.mts/.mjs file, each edge one static
 * `import`, `export … from`, `import x = require("…")` or dynamic `import("…")` with a
 * literal specifier (TypeScript's own `preProcessFile` finds them, so strings and comments
 * that look like imports are not taken for them). Relative specifiers are resolved the way
 * NodeNext does for TypeScript sources (`./x.js` is `./x.ts`); the package's own name is
 * resolved through package.json `exports`; other bare specifiers are packages and end there.
 */
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, posix, relative, sep } from "node:path";
import ts from "typescript";

/** Source files the graph is built from. */
export const SOURCE_EXTENSIONS = [".ts", ".tsx", ".mts", ".mjs"] as const;
/** Folders that hold no sources of ours: packages, build and test outputs (all in .gitignore). */
const SKIPPED_FOLDERS = new Set(["node_modules", "out", "test-output", "dist", "build"]);

export interface ImportEdge {
  /** Importing file, repository-relative with `/` separators. */
  from: string;
  /** The specifier as written. */
  specifier: string;
  /** 1-based line of the specifier in `from`. */
  line: number;
  /** Resolved repository-relative file; null for a package (node_modules) or a node: builtin. */
  to: string | null;
  /** True when the specifier is relative but names no file (a broken import). */
  unresolved: boolean;
  /** `import type …`, `export type … from`, or braces holding only `type` names: erased when compiled. */
  typeOnly: boolean;
}

export interface ImportGraph {
  root: string;
  /** Every source file, sorted. */
  files: string[];
  /** Edges per importing file, in source order. */
  edges: Map<string, ImportEdge[]>;
  /** package.json `exports`: subpath → repository-relative file (conditions: `import`, then `default`). */
  exports: Map<string, string>;
}

/** Every source file under `root`, repository-relative, sorted; hidden and output folders skipped. */
export function listSourceFiles(root: string): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith(".")) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_FOLDERS.has(entry.name)) walk(path);
      } else if (entry.isFile() && SOURCE_EXTENSIONS.some((ext) => entry.name.endsWith(ext)) && !entry.name.endsWith(".d.ts")) {
        files.push(toRepoPath(root, path));
      }
    }
  };
  walk(root);
  return files.sort();
}

const toRepoPath = (root: string, path: string): string => relative(root, path).split(sep).join("/");

/** package.json `exports` as subpath → file (string targets, or the `import`/`default` condition). */
export function readExportsMap(root: string): Map<string, string> {
  const map = new Map<string, string>();
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { exports?: unknown };
  const exportsField = pkg.exports;
  if (exportsField === undefined) return map;
  const target = (value: unknown): string | null => {
    if (typeof value === "string") return value;
    if (value && typeof value === "object") {
      const conditions = value as Record<string, unknown>;
      return target(conditions.import ?? conditions.default ?? null);
    }
    return null;
  };
  const entries = typeof exportsField === "string" ? [[".", exportsField] as const] : Object.entries(exportsField as Record<string, unknown>);
  for (const [subpath, value] of entries) {
    const file = target(value);
    if (file !== null) map.set(subpath, posix.normalize(file));
  }
  return map;
}

const packageName = (root: string): string | null => {
  try {
    return (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { name?: string }).name ?? null;
  } catch {
    return null;
  }
};

/**
 * The file a relative specifier names: NodeNext resolution for TypeScript sources — `.js`
 * may stand for `.ts`/`.tsx`, `.mjs` for `.mts`; an extensionless path tries the source
 * extensions and `index` files. Null when nothing exists there.
 */
function resolveRelative(root: string, fromFile: string, specifier: string): string | null {
  const base = posix.normalize(posix.join(posix.dirname(fromFile), specifier));
  const candidates: string[] = [];
  const swap: Array<[string, string[]]> = [
    [".js", [".ts", ".tsx", ".js"]],
    [".jsx", [".tsx", ".jsx"]],
    [".mjs", [".mts", ".mjs"]],
    [".cjs", [".cts", ".cjs"]],
  ];
  const swapped = swap.find(([ext]) => base.endsWith(ext));
  if (swapped) for (const ext of swapped[1]) candidates.push(base.slice(0, -swapped[0].length) + ext);
  candidates.push(base);
  for (const ext of [...SOURCE_EXTENSIONS, ".js"]) candidates.push(base + ext);
  for (const ext of [...SOURCE_EXTENSIONS, ".js"]) candidates.push(`${base}/index${ext}`);
  for (const candidate of candidates) {
    if (candidate.startsWith("../")) return null;
    const path = join(root, candidate);
    if (existsSync(path) && statSync(path).isFile()) return candidate;
  }
  return null;
}

/** Line number (1-based) of a character offset. */
function lineOf(offset: number, lineStarts: readonly number[]): number {
  let low = 0;
  let high = lineStarts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (lineStarts[mid]! <= offset) low = mid;
    else high = mid - 1;
  }
  return low + 1;
}

/**
 * Whether the import or export statement ending at `specifierOffset` brings in types only.
 * A label for the report (a cycle of types only costs nothing at run time), not a rule.
 */
function isTypeOnly(text: string, specifierOffset: number): boolean {
  const before = text.slice(Math.max(0, specifierOffset - 2000), specifierOffset);
  // The statement starts at the last line that begins with `import` or `export`.
  let keyword = -1;
  for (const match of before.matchAll(/(?:^|\n)[ \t]*(?=(?:import|export)\b)/g)) keyword = match.index + match[0].length;
  if (keyword < 0) return false;
  const statement = before.slice(keyword);
  if (/^(import|export)\s+type\b/.test(statement)) return true;
  const braces = /^(?:import|export)\s*\{([^}]*)\}\s*from\s*["']?$/.exec(statement.trim());
  if (!braces) return false;
  const names = braces[1]!.split(",").map((n) => n.trim()).filter((n) => n.length > 0);
  return names.length > 0 && names.every((n) => n.startsWith("type "));
}

/** The import edges of one file's text. */
export function importsOf(root: string, file: string, text: string, exportsMap: Map<string, string>, ownName: string | null): ImportEdge[] {
  const info = ts.preProcessFile(text, true, true);
  const lineStarts = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) lineStarts.push(i + 1);
  const edges: ImportEdge[] = [];
  for (const ref of info.importedFiles) {
    const specifier = ref.fileName;
    const line = lineOf(ref.pos, lineStarts);
    const typeOnly = isTypeOnly(text, ref.pos);
    if (specifier.startsWith("./") || specifier.startsWith("../") || specifier === "." || specifier === "..") {
      const to = resolveRelative(root, file, specifier);
      edges.push({ from: file, specifier, line, to, unresolved: to === null, typeOnly });
    } else if (ownName !== null && (specifier === ownName || specifier.startsWith(`${ownName}/`))) {
      const subpath = specifier === ownName ? "." : `./${specifier.slice(ownName.length + 1)}`;
      const target = exportsMap.get(subpath);
      const to = target === undefined ? null : posix.normalize(target);
      edges.push({ from: file, specifier, line, to, unresolved: to === null, typeOnly });
    } else {
      edges.push({ from: file, specifier, line, to: null, unresolved: false, typeOnly });
    }
  }
  return edges;
}

/** Builds the graph of every source file under `root`. */
export function buildImportGraph(root: string): ImportGraph {
  const files = listSourceFiles(root);
  const exportsMap = readExportsMap(root);
  const ownName = packageName(root);
  const edges = new Map<string, ImportEdge[]>();
  for (const file of files) edges.set(file, importsOf(root, file, readFileSync(join(root, file), "utf8"), exportsMap, ownName));
  return { root, files, edges, exports: exportsMap };
}

/** Import cycles: the strongly connected components with more than one file (or a file importing itself), each with its files sorted. */
export function stronglyConnectedComponents(graph: ImportGraph): string[][] {
  // Tarjan's algorithm, iterative (a deep import chain must not overflow the stack).
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  const successors = (file: string): string[] => (graph.edges.get(file) ?? []).flatMap((e) => (e.to !== null && graph.edges.has(e.to) ? [e.to] : []));
  for (const start of graph.files) {
    if (index.has(start)) continue;
    const work: Array<{ node: string; next: string[]; i: number }> = [];
    const visit = (node: string): void => {
      index.set(node, counter);
      low.set(node, counter);
      counter++;
      stack.push(node);
      onStack.add(node);
      work.push({ node, next: successors(node), i: 0 });
    };
    visit(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      if (frame.i < frame.next.length) {
        const succ = frame.next[frame.i++]!;
        if (!index.has(succ)) visit(succ);
        else if (onStack.has(succ)) low.set(frame.node, Math.min(low.get(frame.node)!, index.get(succ)!));
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1]!.node;
        low.set(parent, Math.min(low.get(parent)!, low.get(frame.node)!));
      }
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        const selfLoop = component.length === 1 && successors(component[0]!).includes(component[0]!);
        if (component.length > 1 || selfLoop) components.push(component.sort());
      }
    }
  }
  return components.sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
}

/**
 * The distinct elementary cycles that explain the components: for every edge u → v inside a
 * component, the shortest way back from v to u closes one cycle (deduplicated by rotation).
 * At most one cycle per edge, so the listing stays linear in the graph.
 */
export function importCycles(graph: ImportGraph): string[][] {
  const cycles = new Map<string, string[]>();
  for (const component of stronglyConnectedComponents(graph)) {
    const members = new Set(component);
    const inside = (file: string): string[] =>
      [...new Set((graph.edges.get(file) ?? []).flatMap((e) => (e.to !== null && members.has(e.to) ? [e.to] : [])))].sort();
    for (const from of component) {
      for (const to of inside(from)) {
        // Shortest path to → … → from (breadth-first, inside the component).
        const previous = new Map<string, string | null>([[to, null]]);
        const queue = [to];
        for (let head = 0; head < queue.length && !previous.has(from); head++) {
          for (const next of inside(queue[head]!)) {
            if (!previous.has(next)) {
              previous.set(next, queue[head]!);
              queue.push(next);
            }
          }
        }
        if (!previous.has(from)) continue;
        const path: string[] = [];
        for (let at: string | null = from; at !== null; at = previous.get(at) ?? null) path.unshift(at);
        // path runs to … from; the cycle is from → to → … → from.
        const cycle = from === to ? [from] : [from, ...path.slice(0, -1)];
        const smallest = cycle.indexOf([...cycle].sort()[0]!);
        const canonical = [...cycle.slice(smallest), ...cycle.slice(0, smallest)];
        cycles.set(canonical.join(" → "), canonical);
      }
    }
  }
  return [...cycles.values()].sort((a, b) => a.length - b.length || (a.join() < b.join() ? -1 : 1));
}

/** A cycle written out as a chain that returns to its start. */
export const formatCycle = (cycle: string[]): string => [...cycle, cycle[0]].join(" → ");

/** The top-level folder of a repository path ("" for a file at the root). */
export const topFolder = (file: string): string => (file.includes("/") ? file.slice(0, file.indexOf("/")) : "");

/** The layers above the library (docs/README.md#layers): they depend on forge, never the reverse. */
export const LAYERS_ON_FORGE = ["agents", "cli", "viz", "datasets", "kernel", "studio"] as const;

/** An edge as the tests print it: `file:line imports "specifier" (resolved file)`. */
export const describeEdge = (e: ImportEdge): string =>
  `${e.from}:${e.line} imports ${JSON.stringify(e.specifier)}${e.to !== null && e.to !== e.specifier ? ` (${e.to})` : ""}`;
export const allEdges = (g: ImportGraph): ImportEdge[] => [...g.edges.values()].flat();

/**
 * Layering violations: imports from forge/ of repository files outside it, and imports of
 * forge files that package.json `exports` does not name from the layers above forge.
 */
export function layeringViolations(g: ImportGraph): { leavingForge: string[]; forgeInternals: string[] } {
  const entries = new Set([...g.exports.values()].filter((file) => topFolder(file) === "forge"));
  const leavingForge: string[] = [];
  const forgeInternals: string[] = [];
  for (const e of allEdges(g)) {
    if (e.to === null) continue;
    if (topFolder(e.from) === "forge" && topFolder(e.to) !== "forge") leavingForge.push(describeEdge(e));
    if ((LAYERS_ON_FORGE as readonly string[]).includes(topFolder(e.from)) && topFolder(e.to) === "forge" && !entries.has(e.to)) forgeInternals.push(describeEdge(e));
  }
  return { leavingForge, forgeInternals };
}

/** Convenience for scripts: the graph of the repository this file is in. */
export const repositoryRoot = (): string => join(dirname(new URL(import.meta.url).pathname), "..", "..");
