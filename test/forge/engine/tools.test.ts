/**
 * Tools in the generation loop: a capture zone's text goes to the tool, the tool's answer
 * replaces the feed zone's generation; a failing tool ends only its own stream; and the
 * host and tensor automata give identical runs.
 */
import { beforeAll, describe, expect, it } from "vitest";
import * as forge from "../../../forge/index.js";
import { randomByteModel, toolWorkflow } from "./helpers.js";

let model: forge.DecoderModel;
beforeAll(async () => {
  await forge.initBackend("wasm");
  model = randomByteModel(2);
});

describe("capture and feed", { timeout: 120_000 }, () => {
  it("sends each stream's captured text to the tool and feeds the answer back", async () => {
    const seen: Array<{ input: string; instance: number }> = [];
    const backend = await forge.makeBackend(model, new forge.ByteTokenizer(), {
      tools: {
        search: async (input, { instance }) => {
          seen.push({ input, instance });
          await new Promise((r) => setTimeout(r, 5 * instance)); // answers arrive out of order
          return `result-${instance}`;
        },
      },
    });
    const run = await backend.run(toolWorkflow(), { batchSize: 4, seed: 1 });
    expect(seen.map((s) => s.instance).sort()).toEqual([0, 1, 2, 3]);
    run.streams.forEach((stream, i) => {
      expect(stream.status).toBe("timeout"); // the capture zone's generation hit its cap of 5
      expect(run.extractions.answer![i]).toContain(`result-${i}`);
      expect(stream.events.some((e) => e.kind === "capture")).toBe(true);
      expect(stream.events.some((e) => e.kind === "tool_result")).toBe(true);
    });
  });

  it("ends only the stream whose tool throws, with tool_error and the message", async () => {
    const backend = await forge.makeBackend(model, new forge.ByteTokenizer(), {
      tools: {
        search: (_input, { instance }) => {
          if (instance === 1) throw new Error("index offline");
          return "ok";
        },
      },
    });
    const run = await backend.run(toolWorkflow(), { batchSize: 3 });
    expect(run.streams[1]!.status).toBe("tool_error");
    expect(run.streams[1]!.message).toMatch(/tool "search" failed: index offline/);
    expect(run.streams[0]!.status).not.toBe("tool_error");
    expect(run.streams[2]!.status).not.toBe("tool_error");
  });

  it("refuses a workflow whose tool the backend lacks", async () => {
    const backend = await forge.makeBackend(model, new forge.ByteTokenizer());
    await expect(backend.run(toolWorkflow())).rejects.toThrow(/tool\(s\) "search".*registered: none/);
  });
});

describe("host and tensor automata", { timeout: 300_000 }, () => {
  it("give identical runs for the same seed", async () => {
    const backend = await forge.makeBackend(model, new forge.ByteTokenizer(), { tools: { search: (q) => q.toUpperCase() } });
    const workflow = toolWorkflow();
    const host = await backend.run(workflow, { batchSize: 3, seed: 9, automaton: "host" });
    const tensor = await backend.run(workflow, { batchSize: 3, seed: 9, automaton: "tensor" });
    expect(tensor.streams).toEqual(host.streams);
    expect(tensor.extractions).toEqual(host.extractions);
  });
});
