/**
 * The cell type checker on its worker thread: synchronous calls from this thread, answers
 * from the project's TypeScript, and a prelude that does not type-check is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { preludeDeclarations, startCheckerThread, type CellConverter } from "../../kernel/cells/index.js";

describe("startCheckerThread", () => {
  let checker: CellConverter;
  beforeAll(async () => {
    checker = await startCheckerThread(preludeDeclarations(null).replace(/  const (forge|viz|datasets|agents|ambient): [^\n]*\n/g, ""));
  });
  afterAll(() => checker?.close());

  it("converts, completes and inspects synchronously on its thread", () => {
    const ok = checker.convert("const x: number = 6 * 7; x");
    if (!ok.ok) throw new Error(`not compiled: ${JSON.stringify(ok.diagnostics)}`);
    expect(ok.js).toContain("6 * 7");
    expect(JSON.parse(ok.map).mappings).not.toBe("");
    checker.accept(ok.id);
    const bad = checker.convert("const s: string = x");
    expect(bad.ok ? [] : bad.diagnostics.map((d) => d.message)).toEqual(["Type 'number' is not assignable to type 'string'."]);
    expect(checker.complete("Math.ab", 7).candidates).toContain("abs");
    expect(checker.inspect("clearOutput", 3)?.displayParts?.map((p) => p.text).join("")).toContain("clearOutput(wait?: boolean): void");
  });

  it("gives cells Node's globals, and other packages' types through their imports only", () => {
    const diagnostics = (src: string) => {
      const compiled = checker.convert(src);
      return compiled.ok ? [] : compiled.diagnostics.map((d) => d.message);
    };
    expect(diagnostics("const n: number = process.pid; Buffer.from('x'); setTimeout(() => {}, 1);")).toEqual([]);
    expect(diagnostics("import Database from 'better-sqlite3'; const db: Database.Database = new Database(':memory:'); const s: string = db.open;")).toEqual([
      "Type 'boolean' is not assignable to type 'string'.",
    ]);
    // @types/chai is installed (a development tool's) but not a cell's global.
    expect(diagnostics("let a: Chai.Assertion;")).toContain("Cannot find namespace 'Chai'.");
  });

  it("refuses a prelude that does not type-check, saying why", async () => {
    await expect(startCheckerThread("declare global { const broken: NoSuchType; }")).rejects.toThrow(/prelude does not type-check: Cannot find name 'NoSuchType'/);
  });

  it("says so when called after close", async () => {
    const other = await startCheckerThread("declare global { const fine: number; }");
    other.close();
    expect(() => other.convert("1")).toThrow(/closed/);
  });
});
