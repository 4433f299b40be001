/**
 * The layering rules of docs/README.md#layers, checked on the import graph of every source
 * file (graph.ts), like zod's no-circular-imports test:
 *  - no import cycle, anywhere (type-only imports count: a cycle of types still ties two
 *    files so that neither can be read, moved or tested without the other);
 *  - `forge/` imports nothing of the repository outside `forge/` (packages are fine);
 *  - the layers on top of forge (agents/, cli/, viz/, datasets/, kernel/, studio/) import
 *    forge only through its public entry points, the files package.json `exports` names;
 *    tests, benchmarks and scripts may import anything.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { allEdges, buildImportGraph, describeEdge as at, formatCycle, importCycles, layeringViolations, repositoryRoot, topFolder } from "./graph.js";

const root = repositoryRoot();
// CPU time, not wall time: on a loaded machine (eight engineers on two cores) the wall clock
// measures the others; the first, cold build takes about 1 s of CPU, later ones 0.2 s.
const cpuBefore = process.cpuUsage();
const wallBefore = performance.now();
const graph = buildImportGraph(root);
const cpu = process.cpuUsage(cpuBefore);
const buildCpuMs = (cpu.user + cpu.system) / 1000;
const buildWallMs = performance.now() - wallBefore;

describe("the import graph", () => {
  it("is built from every source file in under 5 s of CPU time", () => {
    expect(graph.files.length).toBeGreaterThan(300);
    for (const folder of ["forge", "agents", "viz", "datasets", "kernel", "test"]) expect(graph.files.some((f) => topFolder(f) === folder)).toBe(true);
    console.log(`import graph: ${graph.files.length} files in ${buildCpuMs.toFixed(0)} ms of CPU (${buildWallMs.toFixed(0)} ms wall)`);
    expect(buildCpuMs).toBeLessThan(5_000);
  });

  it("has no import cycle", () => {
    const cycles = importCycles(graph);
    if (cycles.length > 0) {
      const typeOnly = (cycle: string[]): boolean =>
        cycle.every((file, i) => (graph.edges.get(file) ?? []).some((e) => e.to === cycle[(i + 1) % cycle.length] && e.typeOnly));
      console.log(`${cycles.length} import cycle(s):\n${cycles.map((c) => `  ${formatCycle(c)}${typeOnly(c) ? "   (types only)" : ""}`).join("\n")}`);
    }
    expect(cycles.map(formatCycle)).toEqual([]);
  });

  it("resolves every relative import to a file", () => {
    expect(allEdges(graph).filter((e) => e.unresolved).map(at)).toEqual([]);
  });

  it("keeps forge/ free of imports from outside forge/", () => {
    expect(layeringViolations(graph).leavingForge).toEqual([]);
  });

  it("lets agents/, cli/, viz/, datasets/, kernel/ and studio/ import forge only through package.json `exports`", () => {
    expect(layeringViolations(graph).forgeInternals).toEqual([]);
  });

  it("names in package.json `exports` files that exist, forge's own besides package.json", () => {
    expect(graph.exports.get(".")).toBe("forge/index.ts");
    for (const [subpath, file] of graph.exports) {
      expect(graph.files.includes(file) || file === "package.json", `${subpath} → ${file}`).toBe(true);
      if (file !== "package.json") expect(topFolder(file), `${subpath} → ${file}`).toBe("forge");
    }
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { exports: Record<string, string> };
    expect(pkg.exports["./package.json"]).toBe("./package.json");
  });

  it("is what Node resolves the package's own name by: each subpath to its file, an internal refused", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { name: string };
    const specifiers = [...graph.exports.keys()].map((subpath) => (subpath === "." ? pkg.name : `${pkg.name}/${subpath.slice(2)}`));
    const script =
      `const out = {}; for (const s of ${JSON.stringify(specifiers)}) out[s] = import.meta.resolve(s);` +
      `try { import.meta.resolve(${JSON.stringify(`${pkg.name}/run/derive.js`)}); out.internal = "resolved"; } catch (e) { out.internal = e.code; }` +
      `console.log(JSON.stringify(out));`;
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: root, encoding: "utf8", timeout: 30_000 });
    expect(child.stderr).toBe("");
    const resolved = JSON.parse(child.stdout) as Record<string, string>;
    [...graph.exports.values()].forEach((file, i) => expect(resolved[specifiers[i]!]).toBe(pathToFileURL(join(root, file)).href));
    expect(resolved.internal).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED");
  });
});

describe("the graph builder", () => {
  // A small repository written out, so that every rule is seen to fail on a case made for it.
  const fixture = mkdtempSync(join(tmpdir(), "forge-imports-"));
  afterAll(() => rmSync(fixture, { recursive: true, force: true }));
  const write = (path: string, text: string): void => {
    mkdirSync(dirname(join(fixture, path)), { recursive: true });
    writeFileSync(join(fixture, path), text);
  };
  write("package.json", JSON.stringify({ name: "fixture", exports: { ".": "./forge/index.ts", "./run": { import: "./forge/run/index.ts" }, "./package.json": "./package.json" } }));
  write("forge/index.ts", `export * from "./run/index.js";\n`);
  write("forge/run/index.ts", `export type { A } from "./a.js";\n`);
  write("forge/run/a.ts", `import type { B } from "./b.js";\nexport interface A { b: B }\n`);
  write("forge/run/b.ts", `// import { A } from "./a.js" is a comment\nconst s = 'import "./a.js"';\nexport interface B { s: string }\nexport const later = () => import("./c.mjs");\n`);
  write("forge/run/c.mts", `export { later } from "./b.js";\nimport "zod";\n`);
  write("forge/up.ts", `import { x } from "../viz/chart.js";\nexport const y = x;\n`);
  write("viz/chart.ts", `import { A } from "../forge/run/a.js";\nimport { B } from "../forge/run/index.js";\nimport * as f from "fixture/run";\nimport { gone } from "./gone.js";\nexport const x = 1;\n`);
  const g = buildImportGraph(fixture);

  it("finds static, re-export and dynamic imports, not those in comments or strings, and resolves .js to .ts and .mjs to .mts", () => {
    expect(g.files).toEqual(["forge/index.ts", "forge/run/a.ts", "forge/run/b.ts", "forge/run/c.mts", "forge/run/index.ts", "forge/up.ts", "viz/chart.ts"]);
    expect(g.edges.get("forge/run/b.ts")!.map((e) => [e.specifier, e.to, e.line])).toEqual([["./c.mjs", "forge/run/c.mts", 4]]);
    expect(g.edges.get("forge/run/c.mts")!.map((e) => [e.specifier, e.to])).toEqual([["./b.js", "forge/run/b.ts"], ["zod", null]]);
    expect(g.edges.get("forge/run/a.ts")![0]!.typeOnly).toBe(true);
    expect(g.edges.get("viz/chart.ts")!.map((e) => e.to)).toEqual(["forge/run/a.ts", "forge/run/index.ts", "forge/run/index.ts", null]);
  });

  it("reports the cycle through a dynamic import as a chain", () => {
    expect(importCycles(g).map(formatCycle)).toEqual(["forge/run/b.ts → forge/run/c.mts → forge/run/b.ts"]);
  });

  it("reports an import leaving forge/, one of forge's internals from a layer above, and a broken import", () => {
    expect(layeringViolations(g)).toEqual({
      leavingForge: [`forge/up.ts:1 imports "../viz/chart.js" (viz/chart.ts)`],
      forgeInternals: [`viz/chart.ts:1 imports "../forge/run/a.js" (forge/run/a.ts)`],
    });
    expect(allEdges(g).filter((e) => e.unresolved).map(at)).toEqual([`viz/chart.ts:4 imports "./gone.js"`]);
  });
});
