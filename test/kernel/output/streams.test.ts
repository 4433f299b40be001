import { describe, expect, it } from "vitest";
import { captureStreams, isInformational, type StreamName } from "../../../kernel/output/index.js";

describe("the library's informational lines", () => {
  it("are the `forge: ` lines that say what was chosen, not what failed", () => {
    expect(isInformational("forge: tfjs backend wasm\n")).toBe(true);
    expect(isInformational("forge: engine onnxruntime (2 threads)\nforge: tfjs backend wasm (tensorflow: not installed)\n")).toBe(true);
    expect(isInformational("forge: engine onnx could not start (x); using tfjs\n")).toBe(false);
    expect(isInformational("forge: tfjs backend wasm\nError: boom\n")).toBe(false);
    expect(isInformational("warning: forge: x\n")).toBe(false);
    expect(isInformational("\n")).toBe(false);
  });

  it("written to stderr inside a cell, reach the cell as stdout", () => {
    const seen: [StreamName, string][] = [];
    const capture = captureStreams((name, text) => seen.push([name, text]));
    try {
      process.stderr.write("forge: tfjs backend wasm\n");
      process.stderr.write("something failed\n");
      process.stdout.write("data\n");
    } finally {
      capture.restore();
    }
    expect(seen).toEqual([
      ["stdout", "forge: tfjs backend wasm\n"],
      ["stderr", "something failed\n"],
      ["stdout", "data\n"],
    ]);
  });
});
