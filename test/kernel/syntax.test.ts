import { describe, expect, it } from "vitest";
import { checkCompleteness, codePointToUtf16, pagerTarget, utf16ToCodePoint } from "../../kernel/cells/index.js";

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
});

describe("pager syntax", () => {
  it("recognises expr?, ?expr and expr?? but not plain code", () => {
    expect(pagerTarget("forge.parseUdpl?")).toBe("forge.parseUdpl");
    expect(pagerTarget("?Math")).toBe("Math");
    expect(pagerTarget(" viz ?? ")).toBe("viz");
    expect(pagerTarget("a ? b : c")).toBeNull();
    expect(pagerTarget("Math")).toBeNull();
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
