import * as tf from "@tensorflow/tfjs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { BACKEND_ENV, BackendError, currentBackend, initBackend } from "../../../forge/backend/index.js";

afterEach(() => {
  delete process.env[BACKEND_ENV];
  vi.restoreAllMocks();
});

function captureStderr(): string[] {
  const lines: string[] = [];
  vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  return lines;
}

describe("initBackend", () => {
  it("without tfjs-node installed, the default chain lands on wasm and says so once", async () => {
    const lines = captureStderr();
    expect(await initBackend()).toBe("wasm");
    expect(tf.getBackend()).toBe("wasm");
    expect(currentBackend()).toBe("wasm");
    expect(await initBackend()).toBe("wasm");
    expect(lines.filter((l) => l.includes("forge: tfjs backend wasm"))).toHaveLength(1);
    // A wasm kernel really runs.
    expect(Array.from(tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync())).toEqual([11]);
  });

  it("an explicit tensorflow preference falls back to wasm and names why", async () => {
    const lines = captureStderr();
    expect(await initBackend("tensorflow")).toBe("wasm");
    expect(lines.join("")).toMatch(/forge: tfjs backend wasm \(skipped tensorflow: @tensorflow\/tfjs-node-gpu: .*; @tensorflow\/tfjs-node: /);
  });

  it("the preference selects cpu; the environment variable overrides the preference", async () => {
    captureStderr();
    expect(await initBackend("cpu")).toBe("cpu");
    expect(currentBackend()).toBe("cpu");
    process.env[BACKEND_ENV] = "wasm";
    expect(await initBackend("cpu")).toBe("wasm");
    expect(currentBackend()).toBe("wasm");
  });

  it("rejects unknown names, naming where they came from", async () => {
    process.env[BACKEND_ENV] = "gpu";
    await expect(initBackend()).rejects.toThrow(BackendError);
    await expect(initBackend()).rejects.toThrow(/environment variable FORGE_BACKEND: unknown backend "gpu"; expected one of tensorflow, wasm, cpu/);
    delete process.env[BACKEND_ENV];
    await expect(initBackend("webgl" as "cpu")).rejects.toThrow(/initBackend\(preference\): unknown backend "webgl"/);
  });
});
