/**
 * Figures of the repository's layout at several snapshots (checked-out trees, e.g. git
 * worktrees): lines of TypeScript per top-level folder and per forge/ subfolder, and the
 * import cycles (graph.ts). Prints Markdown.
 *
 *   npx tsx test/architecture/figures.ts <label>=<folder> <label>=<folder> …
 *
 * Lines are those of .ts/.tsx/.mts files (declaration files excluded), blank and comment
 * lines included: what `wc -l` counts, plus a last line without a newline.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildImportGraph, formatCycle, importCycles, layeringViolations, listSourceFiles, stronglyConnectedComponents, topFolder } from "./graph.js";

const TYPESCRIPT = /\.(ts|tsx|mts)$/;

export interface Snapshot {
  label: string;
  folder: string;
}

/** Lines of TypeScript per group (a group names a folder; "(root)" the files at its top). */
export function linesByFolder(folder: string, group: (file: string) => string | null): Map<string, number> {
  const lines = new Map<string, number>();
  for (const file of listSourceFiles(folder)) {
    if (!TYPESCRIPT.test(file)) continue;
    const key = group(file);
    if (key === null) continue;
    const text = readFileSync(join(folder, file), "utf8");
    let count = 0;
    for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) count++;
    if (text.length > 0 && !text.endsWith("\n")) count++;
    lines.set(key, (lines.get(key) ?? 0) + count);
  }
  return lines;
}

const byTopFolder = (file: string): string => (topFolder(file) === "" ? "(root)" : `${topFolder(file)}/`);
const byForgeSubfolder = (file: string): string | null => {
  if (topFolder(file) !== "forge") return null;
  const rest = file.slice("forge/".length);
  return rest.includes("/") ? `forge/${rest.slice(0, rest.indexOf("/"))}/` : "forge/*.ts";
};

function table(title: string, snapshots: Snapshot[], counts: Array<Map<string, number>>): string {
  const keys = [...new Set(counts.flatMap((c) => [...c.keys()]))].sort();
  const rows = keys.map((key) => `| ${key} | ${counts.map((c) => (c.get(key) ?? 0).toLocaleString("en-US")).join(" | ")} |`);
  const totals = counts.map((c) => [...c.values()].reduce((a, b) => a + b, 0).toLocaleString("en-US"));
  return [`### ${title}`, "", `| folder | ${snapshots.map((s) => s.label).join(" | ")} |`, `|---|${snapshots.map(() => "---:|").join("")}`, ...rows, `| **total** | ${totals.join(" | ")} |`, ""].join("\n");
}

export function figures(snapshots: Snapshot[]): string {
  const out: string[] = [];
  out.push(table("Lines of TypeScript per top-level folder", snapshots, snapshots.map((s) => linesByFolder(s.folder, byTopFolder))));
  out.push(table("Lines of TypeScript per forge/ subfolder", snapshots, snapshots.map((s) => linesByFolder(s.folder, byForgeSubfolder))));
  out.push("### Import cycles", "");
  for (const s of snapshots) {
    const graph = buildImportGraph(s.folder);
    const components = stronglyConnectedComponents(graph);
    const cycles = importCycles(graph);
    const typeOnly = (cycle: string[]): boolean =>
      cycle.every((file, i) => (graph.edges.get(file) ?? []).some((e) => e.to === cycle[(i + 1) % cycle.length] && e.typeOnly));
    out.push(
      `**${s.label}**: ${graph.files.length} source files, ${components.length} strongly connected component(s) ` +
        `(${components.reduce((n, c) => n + c.length, 0)} files), ${cycles.length} elementary cycle(s) (one per edge that closes one):`,
      "",
    );
    for (const cycle of cycles) out.push(`- ${formatCycle(cycle)}${typeOnly(cycle) ? " (types only)" : ""}`);
    if (cycles.length === 0) out.push("- none");
    out.push("");
    // Without an exports map (before there was one) forge/index.ts counts as the one entry point.
    const noMap = graph.exports.size === 0;
    const { leavingForge, forgeInternals } = layeringViolations(noMap ? { ...graph, exports: new Map([[".", "forge/index.ts"]]) } : graph);
    out.push(
      `Layering: ${leavingForge.length} import(s) from forge/ of files outside it; ${forgeInternals.length} import(s) of forge files ` +
        `package.json \`exports\` does not name, from ${["agents", "cli", "viz", "datasets", "kernel", "studio"].join("/")} ` +
        `(${noMap ? "no exports map: every forge file but forge/index.ts counts" : `exports: ${[...graph.exports.keys()].join(", ")}`}).`,
      "",
    );
    for (const line of leavingForge) out.push(`- leaves forge: ${line}`);
    if (leavingForge.length > 0) out.push("");
  }
  return out.join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const snapshots = process.argv.slice(2).map((arg) => {
    const at = arg.indexOf("=");
    if (at < 1) throw new Error(`expected <label>=<folder>, found ${JSON.stringify(arg)}`);
    return { label: arg.slice(0, at), folder: arg.slice(at + 1) };
  });
  process.stdout.write(figures(snapshots));
}
