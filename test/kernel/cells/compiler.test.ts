/**
 * The cell compiler on this thread (the kernel runs it on the checker's): the project's
 * TypeScript with lib es2023 and @types/node, diagnostics at the cell's own positions, names
 * carried from cell to cell (and shadowed), and the source map back to the cell.
 */
import { SourceMap } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CELL_TYPESCRIPT_VERSION, cellTypeScript, createCellCompiler, preludeDeclarations, REPO_ROOT, type CellConverter, type CompiledCell } from "../../../kernel/cells/index.js";

const ok = (compiled: CompiledCell) => {
  if (!compiled.ok) throw new Error(`not compiled: ${JSON.stringify(compiled.diagnostics)}`);
  return compiled;
};
const messages = (compiled: CompiledCell) => (compiled.ok ? [] : compiled.diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`));

describe("createCellCompiler", () => {
  let compiler: CellConverter & { preludeProblems(): string[] };
  /** Compile and accept, as a cell that ran. */
  const ran = (src: string) => {
    const compiled = ok(compiler.convert(src));
    compiler.accept(compiled.id);
    return compiled;
  };
  beforeAll(() => {
    // Without forge/viz/datasets: the globals' types come from the sources, too slow for a unit test.
    compiler = createCellCompiler(cellTypeScript(), { rootDir: REPO_ROOT, prelude: preludeDeclarations(null).replace(/  const (forge|viz|datasets|agents|ambient): [^\n]*\n/g, "") });
    expect(compiler.preludeProblems()).toEqual([]);
  }, 120_000);
  afterAll(() => compiler?.close());

  it("is the project's TypeScript", () => {
    expect(CELL_TYPESCRIPT_VERSION).toBe((cellTypeScript() as { version: string }).version);
    expect(Number(CELL_TYPESCRIPT_VERSION.split(".")[0])).toBeGreaterThanOrEqual(5);
    expect(CELL_TYPESCRIPT_VERSION).not.toBe("5.0.4");
  });

  it("checks against lib es2023 and Node's types", () => {
    expect(messages(compiler.convert("const a = [3, 1, 2].toSorted(); const b = a.findLast((n) => n > 1); const c = a.toReversed().with(0, 9);"))).toEqual([]);
    expect(messages(compiler.convert("function f<T>(xs: T[], d: NoInfer<T>) { return d }\nconst n: number = process.pid; Buffer.from('x');"))).toEqual([]);
    // Nothing newer than es2023 (Node 20 has no Set.prototype.union).
    expect(messages(compiler.convert("new Set([1]).union(new Set([2]))"))).toEqual([expect.stringMatching(/^1:14 Property 'union' does not exist/)]);
  });

  it("reports diagnostics at the line and column in the cell, top-level await allowed", () => {
    expect(messages(compiler.convert("await Promise.resolve(1);\nfor await (const x of [Promise.resolve(1)]) {}\n  const s: string = 42;"))).toEqual(["3:9 Type 'number' is not assignable to type 'string'."]);
    // A syntax error at the very end is placed at the cell's end, not in what the compiler appends.
    expect(messages(compiler.convert("Math."))).toEqual(["1:6 Identifier expected."]);
  });

  it("carries names to later cells: values, assignable lets, types, functions, classes, imports", () => {
    ran("let count = 1;\nconst label = 'n';\ninterface Pair<T> { a: T; b: T }\nfunction twice(n: number) { return 2 * n }\nclass Box { constructor(readonly v: number) {} }\nimport { join } from 'node:path';");
    const next = ok(compiler.convert("count = twice(count);\nconst p: Pair<string> = { a: label, b: join('x', 'y') };\nnew Box(count).v"));
    expect(next.js).toContain("exports.count = (0, exports.twice)(exports.count)");
    expect(next.js).toContain("__forge_cell__.value = new exports.Box(exports.count).v");
    expect(messages(compiler.convert("label = 'm'"))).toEqual(["1:1 Cannot assign to 'label' because it is an import."]);
    // A name the cell exported itself is carried too.
    ran("export const exportedOne = 5;");
    expect(ok(compiler.convert("exportedOne + 1")).js).toContain("__forge_cell__.value = exports.exportedOne + 1");
    // Shorthand properties read the earlier cell's value too.
    expect(ok(compiler.convert("({ count, label })")).js).toContain("({ count: exports.count, label: exports.label })");
  });

  it("lets a later cell's declaration shadow an earlier one, with its own type", () => {
    ran("const shadowed = 1;");
    ran("const shadowed = 'now a string';");
    expect(messages(compiler.convert("const n: number = shadowed"))).toEqual(["1:7 Type 'string' is not assignable to type 'number'."]);
    // A cell that failed to check, or was not accepted (it threw), declares nothing.
    compiler.convert("const notRun = 1;");
    expect(messages(compiler.convert("notRun"))).toEqual(["1:1 Cannot find name 'notRun'."]);
  });

  it("runs a cell whose declarations a later cell could not name", () => {
    // The declaration output cannot describe an anonymous class with a private member (TS4094): the cell still runs.
    const compiled = ran("function mixin() { return class { private secret = 1; v = 2 } }\nconst Made = mixin();");
    expect(compiled.js).toContain("const Made = mixin()");
    expect(compiler.convert("new Made()").ok).toBe(true);
  });

  it("keeps the last expression's value and maps the output back to the cell", () => {
    const compiled = ok(compiler.convert("const a = 1;\n\n   a + 41"));
    const lines = compiled.js.split("\n");
    const line = lines.findIndex((l) => l.includes("__forge_cell__.value = a + 41"));
    expect(line).toBeGreaterThan(0);
    const entry = new SourceMap(JSON.parse(compiled.map)).findEntry(line, lines[line]!.indexOf("a + 41")) as { originalLine: number; originalColumn: number };
    expect([entry.originalLine + 1, entry.originalColumn + 1]).toEqual([3, 4]);
  });

  it("types `import * as tslab from \"tslab\"` as the kernel's tslab module", () => {
    expect(messages(compiler.convert('import * as tslab from "tslab";\ntslab.display.html("<b>x</b>"); tslab.newDisplay().png(new Uint8Array(1)); const v: string = tslab.versions.typescript;'))).toEqual([]);
    expect(messages(compiler.convert('import * as tslab from "tslab";\ntslab.display.html(1)'))).toEqual([expect.stringMatching(/^2:20 Argument of type 'number'/)]);
  });

  it("completes and inspects with the cell's positions", () => {
    ran("const earlierValue = [1, 2];");
    expect(compiler.complete("earlierV", 8)).toMatchObject({ start: 0, end: 8, candidates: expect.arrayContaining(["earlierValue"]) });
    expect(compiler.complete("[1].findL", 9).candidates).toEqual(["findLast", "findLastIndex"]);
    expect(compiler.inspect("earlierValue.length", 15)?.displayParts?.map((p) => p.text).join("")).toBe("(property) Array<number>.length: number");
  });
});
