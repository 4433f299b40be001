/** The slot table and its slot ↔ row map, without a model. */
import { describe, expect, it } from "vitest";
import { SlotTable } from "../../../../forge/engine/batch/slots.js";

describe("SlotTable", () => {
  it("starts a slot afresh on assign, bumping its epoch so a late tool answer for the old stream is dropped", () => {
    const table = new SlotTable(3, 0);
    table.assign(1, 4, 104);
    table.positions[1] = 9;
    table.streamSteps[1] = 9;
    table.extra[1]!.push(5, 6);
    table.finished[1] = 1;
    table.overrides[1] = { status: "tool_error", message: "x" };
    const epoch = table.epoch[1]!;
    table.assign(1, 5, 105);
    expect([table.job[1], table.instance[1], table.positions[1], table.streamSteps[1], table.finished[1], table.active[1]]).toEqual([5, 105, 0, 0, 0, 0]);
    expect(table.extra[1]).toEqual([]);
    expect(table.overrides[1]).toBeUndefined();
    expect(table.epoch[1]).toBe(epoch + 1);
  });

  it("hands per-slot arrays to the model as they are while every slot has its row", () => {
    const table = new SlotTable(4, 0);
    expect(table.fullRows).toBe(true);
    expect(table.byRow(table.positions)).toBe(table.positions);
  });

  it("maps slots to the kept rows and back once rows are dropped", () => {
    const table = new SlotTable(4, 0);
    table.instance.set([10, 11, 12, 13]);
    table.finished.set([1, 0, 1, 0]);
    const live = table.liveRowSlots();
    expect(Array.from(live)).toEqual([1, 3]);
    expect(table.keepRows(live)).toEqual([1, 3]); // their rows in the old cache
    expect(table.rowCount).toBe(2);
    expect([table.rowOf(0), table.rowOf(1), table.rowOf(2), table.rowOf(3)]).toEqual([-1, 0, -1, 1]);
    expect(Array.from(table.byRow(table.instance))).toEqual([11, 13]);
    expect(Array.from(table.toSlots([7, 8], -1))).toEqual([-1, 7, -1, 8]);

    // A second shrink maps through the first.
    table.finished[1] = 1;
    expect(table.keepRows(table.liveRowSlots())).toEqual([1]); // slot 3 was row 1
    expect([table.rowOf(1), table.rowOf(3)]).toEqual([-1, 0]);
  });

  it("moves each row's stream past what it fed and spends the extras", () => {
    const table = new SlotTable(3, 0);
    table.finished[0] = 1;
    table.keepRows(table.liveRowSlots()); // rows: slots 1, 2
    table.extra[2]!.push(1, 2);
    table.advance([1, 3]);
    expect(Array.from(table.positions)).toEqual([0, 1, 3]);
    expect(Array.from(table.ownColumns)).toEqual([0, 1, 3]);
    expect(table.extra[2]).toEqual([]);
  });

  it("knows the widest live stream and when all have finished", () => {
    const table = new SlotTable(3, 0);
    table.ownColumns.set([50, 20, 30]);
    table.finished[0] = 1;
    expect(table.widestLiveColumns()).toBe(30);
    expect(table.allFinished()).toBe(false);
    table.finished.fill(1);
    expect(table.allFinished()).toBe(true);
    expect(table.widestLiveColumns()).toBe(0);
  });
});
