/** The shared-prefix plan: how many steps every stream shares, and what is pinned in the cache. */
import { describe, expect, it } from "vitest";
import * as forge from "../../../../forge/index.js";
import { compileForBackend } from "../../../../forge/ttfa/index.js";
import { planSharedPrefix, sharedPrefix } from "../../../../forge/engine/batch/prefix.js";
import { seedExample } from "../helpers.js";

const program = () => compileForBackend(seedExample().factory(), new forge.ByteTokenizer());

describe("planSharedPrefix", () => {
  it("pins all but the last prefix token; the last is every stream's first input", () => {
    const p = program();
    const full = sharedPrefix(p, 10_000);
    const plan = planSharedPrefix(p, true, 10_000)!;
    expect(plan.steps).toBe(full.steps.length);
    expect(plan.pinned).toBe(plan.steps - 1);
    expect(plan.lastToken).toBe(full.tokens[plan.steps - 1]);
  });

  it("is null with prefill off, or when the token cap leaves fewer than two steps", () => {
    const p = program();
    expect(planSharedPrefix(p, false, 10_000)).toBeNull();
    expect(planSharedPrefix(p, true, 2)).toBeNull(); // limit 1 step
    expect(planSharedPrefix(p, true, 3)!.steps).toBe(2);
  });
});
