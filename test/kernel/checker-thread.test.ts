/**
 * The cell type checker on its worker thread: synchronous calls from this thread, answers
 * equal to tslab's converter on this thread, and a prelude that does not type-check is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { preludeDeclarations, startCheckerThread, type TslabConverter } from "../../kernel/cells/index.js";

describe("startCheckerThread", () => {
  let checker: TslabConverter;
  beforeAll(async () => {
    checker = await startCheckerThread(preludeDeclarations(null).replace(/  const (forge|viz|datasets|ambient): [^\n]*\n/g, ""));
  });
  afterAll(() => checker?.close());

  it("converts, completes and inspects synchronously on its thread", () => {
    const ok = checker.convert("", "const x: number = 6 * 7; x") as { output: string; declOutput: string; diagnostics: unknown[] };
    expect(ok.diagnostics).toEqual([]);
    expect(ok.output).toContain("6 * 7");
    expect(ok.declOutput).toContain("declare const x: number");
    const bad = checker.convert(ok.declOutput, "const s: string = x") as { diagnostics: { messageText: string }[] };
    expect(bad.diagnostics.map((d) => d.messageText)).toEqual(["Type 'number' is not assignable to type 'string'."]);
    expect(checker.complete("", "Math.ab", 7).candidates).toContain("abs");
    expect(checker.inspect("", "clearOutput", 3)?.displayParts?.map((p) => p.text).join("")).toContain("clearOutput(wait?: boolean): void");
  });

  it("gives cells Node's globals, and other packages' types through their imports only", () => {
    const diagnostics = (src: string) => (checker.convert("", src) as { diagnostics: { messageText: string }[] }).diagnostics.map((d) => d.messageText);
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
    expect(() => other.convert("", "1")).toThrow(/closed/);
  });
});
