/** Shorthand properties are expanded before tslab converts a cell (its converter misses them). */
import { describe, expect, it } from "vitest";
import { expandShorthandProperties } from "../../kernel/cells/shorthand.js";

describe("expandShorthandProperties", () => {
  it("expands shorthand properties in literals and destructuring assignments, nothing else", () => {
    expect(expandShorthandProperties("run(flow, {}, { registry })")).toBe("run(flow, {}, { registry: registry })");
    expect(expandShorthandProperties("({ a, b: 2, c } = obj)")).toBe("({ a: a, b: 2, c: c } = obj)");
    expect(expandShorthandProperties("const { a, b } = obj;")).toBe("const { a, b } = obj;");
    expect(expandShorthandProperties("const s = '{ a }';")).toBe("const s = '{ a }';");
    expect(expandShorthandProperties("f({ x: 1 })")).toBe("f({ x: 1 })");
  });
});
