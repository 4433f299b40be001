import { describe, expect, it } from "vitest";
import { TableCache } from "../../../forge/ttfa/table-cache.js";

describe("TableCache: the assembler's per-vocabulary LRU of built tables", () => {
  const sized = (bytes: number) => ({ bytes });
  it("keeps at most `entries` per vocabulary, dropping the least recently used; vocabularies apart", () => {
    const cache = new TableCache<{ bytes: number }>(2, 1000, (v) => v.bytes);
    const a = {};
    const b = {};
    cache.set(a, "x", sized(1));
    cache.set(a, "y", sized(1));
    expect(cache.get(a, "x")).toEqual(sized(1)); // x now the most recent
    cache.set(a, "z", sized(1));
    expect(cache.get(a, "y")).toBeUndefined();
    expect(cache.get(a, "x")).toBeDefined();
    expect(cache.get(a, "z")).toBeDefined();
    expect(cache.get(b, "x")).toBeUndefined();
  });
  it("bounds the bytes: the oldest go first, a value over the bound alone is not kept, a replaced value's bytes are returned", () => {
    const cache = new TableCache<{ bytes: number }>(10, 100, (v) => v.bytes);
    const a = {};
    cache.set(a, "x", sized(60));
    cache.set(a, "y", sized(30));
    cache.set(a, "y", sized(40)); // replaces y: 100 in all, within the bound
    cache.set(a, "z", sized(50)); // 150: x (the oldest) goes, 90 are left
    expect(cache.get(a, "x")).toBeUndefined();
    expect(cache.get(a, "y")?.bytes).toBe(40);
    cache.set(a, "big", sized(101));
    expect(cache.get(a, "big")).toBeUndefined();
    expect(cache.get(a, "z")).toBeDefined();
  });
});
