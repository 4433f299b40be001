/** HostAutomaton: the reference interpreter batched behind the TensorAutomaton's slot API. */
import { describe, expect, it } from "vitest";
import { ByteTokenizer } from "../../../forge/tokenizer/byte.js";
import { compileForBackend, HostAutomaton, TtfaError, TtfaEvent } from "../../../forge/ttfa/index.js";
import { workflow, zone } from "./fixtures.js";

const byte = new ByteTokenizer();

describe("HostAutomaton", () => {
  it("steps slots independently; stop pads one slot, resetSlot restarts it, tool output unblocks a held slot", () => {
    const program = compileForBackend(
      workflow([zone({ text: "ab", advance: "[EOS]", next: 1, maxGen: 100 }), zone({ text: "", advance: "[EOS]", feed: "search" })]),
      byte,
    );
    const host = new HostAutomaton(program, 2);
    expect(Array.from(host.step([120, 121]).token)).toEqual([97, 97]);
    host.stop(1);
    const stopped = host.step([120, 121]);
    expect(Array.from(stopped.token)).toEqual([98, byte.padId]);
    expect(Array.from(stopped.event)).toEqual([0, TtfaEvent.PAD]);
    host.resetSlot(1);
    expect(Array.from(host.step([120, 121]).token)).toEqual([120, 97]);
    // Slot 0 generates [EOS], enters the feed zone and holds until its tool output arrives.
    for (const c of byte.encode("[EOS]")) host.step([c, 122]);
    const held = host.step([0, 122]);
    expect([held.held[0], held.token[0], held.record[0]]).toEqual([1, byte.padId, 0]);
    host.setToolOutput(0, byte.encode("ok"));
    const fed = host.step([0, 122]);
    expect([fed.token[0], fed.forced[0], fed.event[0]]).toEqual([111, 1, TtfaEvent.TOOL_RESULT]);
    expect(() => host.step([1])).toThrow(/expects 2 sampled tokens/);
    expect(() => host.stop(2)).toThrow(TtfaError);
  });
});
