/**
 * The browser front end that set-up installs (Debian's classic Notebook 6.4), driven as a
 * person would: start `jupyter notebook` on 127.0.0.1 with a token, open a notebook in
 * Chromium, Cell ▸ Run All, and look at what is drawn. The classic Notebook has no Vega-Lite
 * renderer, so a chart must show as its SVG (the bundle carries no HTML copy of it), and a
 * table preview as HTML. Screenshot: test-output/frontend/classic-notebook.png.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_RUN_ID as RUN_ID, demoNotebook, kernelEnvironment, launchChromium, startClassicNotebook, type ClassicNotebook } from "./classic.js";

const OUTPUT = resolve("test-output/frontend");
describe("classic Notebook in Chromium", { timeout: 120_000 }, () => {
  let notebook: ClassicNotebook | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    mkdirSync(OUTPUT, { recursive: true });
    const folder = mkdtempSync(join(tmpdir(), "forge-classic-"));
    writeFileSync(join(folder, "charts.ipynb"), JSON.stringify(demoNotebook(), null, 1));
    const env = await kernelEnvironment();
    [notebook, browser] = await Promise.all([startClassicNotebook(folder, env), launchChromium()]);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await notebook?.stop();
  });

  it("runs all cells: the chart is drawn as SVG, the table as HTML, no errors", async () => {
    // Tall enough for every output: the notebook scrolls inside its own panel, not the page.
    const page = await browser!.newPage({ viewport: { width: 1200, height: 1300 } });
    await page.goto(notebook!.url("charts.ipynb"));
    await page.waitForFunction(() => (window as { Jupyter?: { notebook?: { kernel?: { is_connected(): boolean } } } }).Jupyter?.notebook?.kernel?.is_connected() === true, null, { timeout: 60_000 });
    await page.click("#celllink");
    await page.click("#run_all_cells > a");
    await page.waitForSelector(".output_area .output_svg svg g.role-mark", { state: "attached", timeout: 60_000 });
    await page.waitForSelector(".output_area .output_html table", { state: "attached", timeout: 30_000 });

    await page.screenshot({ path: join(OUTPUT, "classic-notebook.png"), fullPage: true });
    const chart = await page.$eval(".output_area .output_svg svg", (svg) => ({
      marks: svg.querySelectorAll("g.role-mark").length,
      texts: Array.from(svg.querySelectorAll("text")).map((t) => t.textContent),
      width: svg.getBoundingClientRect().width,
    }));
    expect(chart.marks).toBeGreaterThanOrEqual(3);
    expect(chart.texts).toEqual(expect.arrayContaining(["sample", "score", "export", "Workflow feedback"]));
    expect(chart.width).toBeGreaterThan(200);
    // The SVG is the only copy: nothing drawn from an HTML one, and classic has no Vega renderer.
    expect(await page.$$eval(".output_area .output_html svg", (svgs) => svgs.length)).toBe(0);
    expect(await page.$$eval(".output_area .output_svg", (outputs) => outputs.length)).toBe(1);

    const table = await page.$eval(".output_area .output_html .forge-table", (t) => ({
      inEveryRow: t.querySelector("p")?.textContent ?? "",
      heads: Array.from(t.querySelectorAll("th")).map((th) => th.textContent),
      breaks: t.querySelectorAll("td br").length,
    }));
    expect(table.inEveryRow).toContain(`In every row: run_id = ${RUN_ID}`);
    expect(table.heads).not.toContain("run_id");
    expect(table.breaks).toBe(3);
    expect(await page.$$eval(".output_area .output_error, .output_area .output_stderr", (e) => e.length)).toBe(0);

  });
});
