/** The notebook preview of a table: what repeats on every row is said once; line breaks stay. */
import { describe, expect, it } from "vitest";
import { mimeBundle } from "../../forge/display.js";
import { preview, samplesTable, tableFromRows } from "../../datasets/index.js";
import { constantColumns } from "../../datasets/preview.js";
import { sampleRun } from "./fixtures.js";

const UUID = "3589f1e9-e31e-4cca-b738-b9e3fae8dfc5";
const htmlOf = async (table: Parameters<typeof preview>[0]) => (await preview(table)[mimeBundle]())["text/html"] as string;

describe("preview of a samples table", () => {
  const rows = [...samplesTable(sampleRun()).toArray()].map((row) => ({ ...row.toJSON(), run_id: UUID }));
  const table = tableFromRows("samples", rows);

  it("says a run_id that is the same on every row once, above the table, not in each row", async () => {
    // Other columns stay even when they hold one value (seed, and status: 3 of 5 streams are done).
    expect([...constantColumns(table).keys()]).toEqual(["run_id", "workflow_hash", "backend"]);
    const html = await htmlOf(table);
    expect(html.split(UUID)).toHaveLength(2);
    expect(html).toContain(`<p>In every row: <code>run_id</code> = ${UUID}, <code>workflow_hash</code> = `);
    expect(html).toContain(">seed</th>");
    expect(html).not.toContain(">run_id</th>");
    expect(html).toContain(">text</th>");
    expect(html.match(/<tr>/g)).toHaveLength(11); // header + 10 rows
  });

  it("keeps line breaks inside a cell", async () => {
    expect(await htmlOf(table)).toContain("<td>first<br>second &quot;quoted&quot;</td>");
  });

  it("keeps every column when the rows differ, or when there is one row", async () => {
    const mixed = tableFromRows("samples", rows.map((row, i) => ({ ...row, run_id: i % 2 ? UUID : "another-run" })));
    expect(constantColumns(mixed).has("run_id")).toBe(false);
    expect(await htmlOf(mixed)).toContain(">run_id</th>");
    const one = tableFromRows("samples", rows.slice(0, 1));
    expect(constantColumns(one).size).toBe(0);
    expect(await htmlOf(one)).toContain(`<td>${UUID}</td>`);
  });
});
