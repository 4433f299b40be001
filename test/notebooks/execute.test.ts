/**
 * Every notebook in notebooks/ runs headless with `jupyter nbconvert --execute` against the
 * project's kernel (installed into a temporary prefix), and must finish with no error output
 * and with output from every cell that ends in an expression. One executed notebook is then
 * exported to HTML and opened in headless Chromium: its chart must be drawn.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCommand } from "../helpers/command.js";

const PYTHON = "/usr/bin/python3"; // Debian's Jupyter lives here, not under the python3 first on PATH
const NOTEBOOKS = resolve("notebooks");
const OUTPUT = resolve("test-output/notebooks");
const prefix = mkdtempSync(join(tmpdir(), "forge-kernelspec-"));
const env = { ...process.env, JUPYTER_PATH: join(prefix, "share/jupyter"), PYDEVD_DISABLE_FILE_VALIDATION: "1" };

interface Cell {
  cell_type: string;
  source: string[] | string;
  outputs?: Array<{ output_type: string; ename?: string; evalue?: string; name?: string; text?: string | string[] }>;
}

beforeAll(async () => {
  mkdirSync(OUTPUT, { recursive: true });
  const install = await runCommand("npx", ["tsx", "kernel/install.ts", "--prefix", prefix]);
  expect(install.status, install.stderr).toBe(0);
});

const notebooks = readdirSync(NOTEBOOKS).filter((f) => f.endsWith(".ipynb")).sort();

describe("notebooks execute headless", { timeout: 900_000 }, () => {
  it("has the notebooks a newcomer opens first", () => {
    expect(notebooks.length).toBeGreaterThanOrEqual(4);
  });

  for (const name of notebooks) {
    it(name, async () => {
      const result = await runCommand(
        PYTHON,
        ["-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.kernel_name=forge-typescript",
          "--ExecutePreprocessor.timeout=600", "--output-dir", OUTPUT, join(NOTEBOOKS, name)],
        { env, cwd: NOTEBOOKS },
      );
      expect(result.status, `nbconvert failed:\n${result.stderr.slice(-4000)}`).toBe(0);
      const executed = JSON.parse(readFileSync(join(OUTPUT, name), "utf8")) as { cells: Cell[] };
      executed.cells.forEach((cell, index) => {
        if (cell.cell_type !== "code") return;
        const source = Array.isArray(cell.source) ? cell.source.join("") : cell.source;
        const outputs = cell.outputs ?? [];
        const errors = outputs.filter((o) => o.output_type === "error" || (o.output_type === "stream" && o.name === "stderr" && /Error/.test(String(o.text))));
        expect(errors, `cell ${index} of ${name} reported an error: ${JSON.stringify(errors).slice(0, 800)}`).toEqual([]);
        const lastLine = source.trim().split("\n").at(-1)!.trim();
        if (!lastLine.endsWith(";") && !lastLine.endsWith("}"))
          expect(outputs.length, `cell ${index} of ${name} ends in an expression but produced nothing`).toBeGreaterThan(0);
      });
    });
  }
});

describe("a person's view of an executed notebook", { timeout: 300_000 }, () => {
  it("draws the charts in the exported HTML (headless Chromium)", async () => {
    const executed = join(OUTPUT, "03-branch-paths-and-jumps.ipynb");
    const html = await runCommand(PYTHON, ["-m", "jupyter", "nbconvert", "--to", "html", "--output-dir", OUTPUT, executed], { env });
    expect(html.status, html.stderr).toBe(0);
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      await page.goto(`file://${join(OUTPUT, "03-branch-paths-and-jumps.html")}`);
      const charts = await page.$$eval("svg", (svgs) => svgs.map((svg) => svg.querySelectorAll("path, rect").length));
      // Four charts, each an SVG with marks (the page's own icons are small SVGs with a path or two).
      expect(charts.filter((marks) => marks > 5).length).toBeGreaterThanOrEqual(4);
      await page.screenshot({ path: join(OUTPUT, "03-branch-paths-and-jumps.png"), fullPage: true });
    } finally {
      await browser.close();
    }
  });
});
