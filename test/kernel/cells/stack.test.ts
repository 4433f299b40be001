/**
 * Stack traces of cell scripts mapped back to the cell through the compiler's source map, by a
 * real vm script and TypeScript's own source map; other frames left as V8 gives them.
 */
import { Script } from "node:vm";
import { describe, expect, it } from "vitest";
import { cellFileName, cellTypeScript, isCellFrame, registerCellMap } from "../../../kernel/cells/index.js";

/** Compile `src` with a source map, as the cell compiler does (one wrapper line before it). */
function compiled(src: string): { js: string; map: string } {
  const ts = cellTypeScript();
  const out = ts.transpileModule(src, { fileName: "cell.ts", compilerOptions: { target: ts.ScriptTarget.ES2023, module: ts.ModuleKind.CommonJS, sourceMap: true } });
  return { js: out.outputText.replace(/\n\/\/# sourceMappingURL=.*\s*$/, "\n"), map: out.sourceMapText! };
}

describe("cell stack traces", () => {
  it("name the cell and the line and column typed, after types are erased", () => {
    const { js, map } = compiled("type Big = { a: number; b: string };\nconst big: Big = { a: 1, b: 'x' };\n\n    throw new TypeError(`bad ${big.a}`);\n");
    const name = cellFileName(1001);
    expect(name).toBe("<cell-1001>");
    registerCellMap(name, map, 1);
    let stack = "";
    try {
      new Script(`(function (exports) {\n${js}\n})({})`, { filename: name }).runInThisContext({ displayErrors: false });
    } catch (e) {
      stack = (e as Error).stack ?? "";
    }
    const lines = stack.split("\n");
    expect(lines[0]).toBe("TypeError: bad 1");
    expect(lines[1]).toBe(`    at ${name}:4:11`);
    expect(isCellFrame(lines[1]!)).toBe(true);
    // This test's own frame is not a cell's, and is left as it was.
    expect(lines.some((l) => l.includes("stack.test.ts") && !isCellFrame(l))).toBe(true);
  });

  it("gives a second script under the same count a name of its own", () => {
    registerCellMap(cellFileName(1002), compiled("1").map, 1);
    expect(cellFileName(1002)).toBe("<cell-1002~2>");
  });

  it("tells cell frames from others", () => {
    expect(isCellFrame("    at inner (<cell-3>:2:9)")).toBe(true);
    expect(isCellFrame("    at <cell-12~2>:1:1")).toBe(true);
    expect(isCellFrame("    at LintContext.fail (/repo/forge/udpl/lint.ts:40:11)")).toBe(false);
    expect(isCellFrame("    at evalmachine.<anonymous>:3:25")).toBe(false);
  });
});
