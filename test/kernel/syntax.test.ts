import { describe, expect, it } from "vitest";
import { checkCompleteness, codePointToUtf16, pagerTarget, utf16ToCodePoint } from "../../kernel/cells/index.js";
import { MAX_IS_COMPLETE_LENGTH, MAX_PAGER_LENGTH } from "../../kernel/cells/syntax.js";

/** Runs `fn`, returning its value and how long it took. */
function timed<T>(fn: () => T): [T, number] {
  const started = performance.now();
  const value = fn();
  return [value, performance.now() - started];
}

describe("is_complete", () => {
  it.each(["1 + 1", "const x = 3", "function f() { return 1 }", "", "forge?"])("complete: %j", (code) => {
    expect(checkCompleteness(code).status).toBe("complete");
  });
  it.each(["function f() {", "const a = [1, 2,", "if (true) {", "`unterminated"])("incomplete: %j", (code) => {
    expect(checkCompleteness(code).status).toBe("incomplete");
  });
  it.each(["const = 5", "1 +* 2", "let x = )", "}"])("invalid: %j", (code) => {
    expect(checkCompleteness(code).status).toBe("invalid");
  });
  it("suggests an indent inside an open block", () => {
    expect(checkCompleteness("if (x) {")).toEqual({ status: "incomplete", indent: "  " });
  });
  it("a blank line at the end runs the cell as it is", () => {
    expect(checkCompleteness("if (x) {\n\n")).toEqual({ status: "complete" });
    expect(checkCompleteness("if (x) {\n \t\n  ")).toEqual({ status: "complete" });
    expect(checkCompleteness("if (x) {\n  ").status).toBe("incomplete");
  });
  it("answers hostile cells in linear time, 'unknown' past its bounds (session 7: 2 000 newlines before x( took 4.5 s, 5 000 nested braces a stack trace)", () => {
    const [blank, blankMs] = timed(() => checkCompleteness("\n".repeat(200_000) + "x("));
    expect(blank).toEqual({ status: "incomplete", indent: "  " });
    const [longLine, longLineMs] = timed(() => checkCompleteness("f(\n" + "{x".repeat(100_000)));
    expect(longLine.status).toBe("incomplete");
    expect(checkCompleteness("{".repeat(5_000) + "}")).toEqual({ status: "unknown" });
    expect(checkCompleteness("(".repeat(MAX_IS_COMPLETE_LENGTH + 1))).toEqual({ status: "unknown" });
    expect(blankMs + longLineMs).toBeLessThan(5_000);
  });
});

describe("pager syntax", () => {
  it("recognises expr?, ?expr and expr?? but not plain code", () => {
    expect(pagerTarget("forge.parseUdpl?")).toBe("forge.parseUdpl");
    expect(pagerTarget("?Math")).toBe("Math");
    expect(pagerTarget(" viz ?? ")).toBe("viz");
    expect(pagerTarget("a ? b : c")).toBeNull();
    expect(pagerTarget("Math")).toBeNull();
  });
  it("does not look at code longer than one name can be (session 7: a + 40 000 spaces + ! took 0.8 s, quadratic)", () => {
    const [target, ms] = timed(() => pagerTarget("a" + " ".repeat(1_000_000) + "!"));
    expect(target).toBeNull();
    expect(ms).toBeLessThan(100);
    expect(pagerTarget("x".repeat(MAX_PAGER_LENGTH - 1) + "?")).toBe("x".repeat(MAX_PAGER_LENGTH - 1));
  });
});

describe("cursor offsets", () => {
  it("convert between code points (Jupyter) and UTF-16 units (JavaScript)", () => {
    const text = "'😀'.len";
    expect(codePointToUtf16(text, 7)).toBe(8);
    expect(utf16ToCodePoint(text, 8)).toBe(7);
    expect(codePointToUtf16("abc", 2)).toBe(2);
  });
});
