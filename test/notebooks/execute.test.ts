/**
 * Every notebook in notebooks/ runs headless with `jupyter nbconvert --execute` against the
 * project's kernel (installed into a temporary prefix), and must finish with no error output
 * and with output from every cell that ends in an expression. One executed notebook is then
 * exported to HTML and opened in headless Chromium: its charts must be drawn. A chart's bundle
 * has no HTML copy of its SVG (so JupyterLab draws the spec), and Debian's nbconvert 6.5
 * empties inline SVG, so the export uses viz/nbconvert/forge.html.j2 (SVG as <img>, as
 * nbconvert 7 does).
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
    const html = await runCommand(
      PYTHON,
      ["-m", "jupyter", "nbconvert", "--to", "html", "--template-file", resolve("viz/nbconvert/forge.html.j2"), "--output-dir", OUTPUT, executed],
      { env },
    );
    expect(html.status, html.stderr).toBe(0);
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      await page.goto(`file://${join(OUTPUT, "03-branch-paths-and-jumps.html")}`);
      // Four charts, each its SVG drawn as an image of a chart's size (decoded, so not empty or broken).
      const charts = await page.$$eval(".jp-OutputArea-output img", (elements) =>
        (elements as HTMLImageElement[]).filter((img) => img.src.startsWith("data:image/svg+xml;base64,")).map((img) => [img.naturalWidth, img.naturalHeight]),
      );
      expect(charts.length).toBeGreaterThanOrEqual(4);
      for (const [width, height] of charts) expect(width! * height!).toBeGreaterThan(200 * 100);
      // One image's SVG, decoded: it holds vega's marks, not the empty shell nbconvert 6.5 leaves inline.
      const svg = await page.$eval(".jp-OutputArea-output img", (img) => atob((img as HTMLImageElement).src.split(",")[1]!));
      expect(svg).toMatch(/^<svg[\s\S]*role-mark/);
      await page.screenshot({ path: join(OUTPUT, "03-branch-paths-and-jumps.png"), fullPage: true });
    } finally {
      await browser.close();
    }
  });
});
