import { describe, expect, it } from "vitest";
import { feedbackBuffer, listSampler, ResourceError, staticResource, toResource } from "../../../forge/resources/index.js";

describe("static resources", () => {
  it("always return their string; plain values become static resources", () => {
    expect(staticResource("hi").sample()).toBe("hi");
    expect(toResource(3, "x").sample()).toBe("3");
    expect(toResource(false, "x").sample()).toBe("false");
    expect(toResource("s", "x").kind).toBe("static");
  });

  it("functions become resources called with the arguments table", () => {
    const r = toResource((args) => `n=${String(args.n)}`, "fn");
    expect(r.sample({ n: 4 })).toBe("n=4");
    expect(() => toResource((() => 5) as unknown as () => string, "fn").sample()).toThrowError(/returned number, expected a string/);
  });

  it("anything else is a ResourceError naming what it was for", () => {
    expect(() => toResource(null as unknown as string, 'resource "q"')).toThrowError(/resource "q": expected a resource/);
  });
});

describe("listSampler", () => {
  const items = ["a", "b", "c", "d", "e"];

  it("draws num_samples distinct items joined by newlines", () => {
    const s = listSampler(items, { numSamples: 3, seed: 1 });
    for (let i = 0; i < 50; i++) {
      const drawn = s.sample().split("\n");
      expect(drawn).toHaveLength(3);
      expect(new Set(drawn).size).toBe(3);
      for (const d of drawn) expect(items).toContain(d);
    }
  });

  it("is reproducible from its seed and differs between draws", () => {
    const a = listSampler(items, { seed: 7, numSamples: 2 });
    const b = listSampler(items, { seed: 7, numSamples: 2 });
    const seqA = Array.from({ length: 10 }, () => a.sample());
    const seqB = Array.from({ length: 10 }, () => b.sample());
    expect(seqA).toEqual(seqB);
    expect(new Set(seqA).size).toBeGreaterThan(1);
    const c = listSampler(items, { seed: 8, numSamples: 2 });
    expect(Array.from({ length: 10 }, () => c.sample())).not.toEqual(seqA);
  });

  it("covers every item about evenly", () => {
    const s = listSampler(items, { seed: 3 });
    const counts = new Map<string, number>();
    for (let i = 0; i < 5000; i++) {
      const drawn = s.sample();
      counts.set(drawn, (counts.get(drawn) ?? 0) + 1);
    }
    for (const item of items) expect(counts.get(item)! / 5000).toBeGreaterThan(0.15);
  });

  it("the placeholder's arguments override num_samples and separator", () => {
    const s = listSampler(items, { seed: 2 });
    expect(s.sample({ num_samples: 4, separator: "|" }).split("|")).toHaveLength(4);
  });

  it("rejects impossible requests", () => {
    expect(() => listSampler([])).toThrowError(ResourceError);
    expect(() => listSampler(items, { numSamples: 6 })).toThrowError(/exceeds the 5 items/);
    expect(() => listSampler(items).sample({ num_samples: 0 })).toThrowError(/num_samples must be an integer > 0/);
  });
});

describe("feedbackBuffer", () => {
  it("starts empty (draws give \"\") and fills between batches", () => {
    const buf = feedbackBuffer({ capacity: 3, seed: 1 });
    expect(buf.sample()).toBe("");
    buf.append("x");
    expect(buf.sample()).toBe("x");
  });

  it("keeps only the newest `capacity` items", () => {
    const buf = feedbackBuffer({ capacity: 3, numSamples: 3 });
    buf.append("1", "2");
    buf.append("3", "4", "5");
    expect(buf.items).toEqual(["3", "4", "5"]);
    expect(buf.sample().split("\n").sort()).toEqual(["3", "4", "5"]);
  });

  it("samples without replacement and returns what it has when short", () => {
    const buf = feedbackBuffer({ capacity: 10, numSamples: 4, seed: 5 });
    buf.append("a", "b");
    expect(buf.sample().split("\n").sort()).toEqual(["a", "b"]);
    buf.append("c", "d", "e", "f");
    const drawn = buf.sample().split("\n");
    expect(new Set(drawn).size).toBe(4);
  });

  it("validates its options and items", () => {
    expect(() => feedbackBuffer({ capacity: 0 })).toThrowError(/capacity must be an integer > 0/);
    expect(() => feedbackBuffer({ capacity: 2 }).append(3 as unknown as string)).toThrowError(/expected a string/);
  });
});
