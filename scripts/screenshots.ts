/**
 * Screenshots of what a person sees of the workbench's output, for looking at by eye (the
 * tests assert; these are not compared). Writes out/screenshots/:
 *
 *   chart-<builder>.png           each run chart of a 24-stream run with a UUID run id, drawn
 *                                 from the bundle's image/svg+xml in Chromium
 *   samples-preview.png           the notebook preview of that run's samples table
 *   nbconvert-debian-default.png  a notebook holding those charts, exported by Debian's
 *                                 nbconvert 6.5 as it is (inline SVG emptied by its cleaner)
 *   nbconvert-forge-template.png  the same with --template-file viz/nbconvert/forge.html.j2
 *   classic-notebook.png          Debian's classic Notebook, Run All on a small notebook
 *   classic-notebook-03.png       notebooks/03 as the notebook test executed it (saved run
 *                                 charts; when test-output/notebooks/ has it), trusted first
 *
 *   npx tsx scripts/screenshots.ts [--no-classic]
 *
 * Needs Debian's chromium and Jupyter (scripts/setup.sh). JupyterLab is not installable here;
 * test/viz/frontends.test.ts checks from Lab's ranks that it draws the charts itself.
 */
import { randomUUID } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { preview, samplesTable } from "../datasets/index.js";
import { mimeBundle } from "../forge/display.js";
import { runCommand } from "../test/helpers/command.js";
import { demoNotebook, kernelEnvironment, launchChromium, PYTHON, startClassicNotebook } from "../test/frontend/classic.js";
import { largeRun } from "../test/fixtures/runs/large.js";
import { branchPathChart, chartBundle, decisionTreeChart, jumpStatisticsChart, tokenBudgetChart } from "../viz/index.js";

const OUT = resolve("out/screenshots");
mkdirSync(OUT, { recursive: true });
const work = mkdtempSync(join(tmpdir(), "forge-screenshots-"));

const base = largeRun(24);
const run = { ...base, meta: { ...base.meta, runId: randomUUID() } };
const charts = { branchPath: branchPathChart(run), jumpStatistics: jumpStatisticsChart(run), decisionTree: decisionTreeChart(run), tokenBudget: tokenBudgetChart(run) };
const bundles = Object.fromEntries(await Promise.all(Object.entries(charts).map(async ([name, chart]) => [name, await chartBundle(chart)] as const)));

const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  for (const [name, bundle] of Object.entries(bundles)) {
    await page.setContent(`<body style="margin:8px">${String(bundle["image/svg+xml"])}</body>`);
    await page.screenshot({ path: join(OUT, `chart-${name}.png`), fullPage: true });
  }
  const table = (await preview(samplesTable(run))[mimeBundle]())["text/html"] as string;
  await page.setContent(`<body style="font: 13px sans-serif; margin: 8px">${table}</body>`);
  await page.screenshot({ path: join(OUT, "samples-preview.png"), fullPage: true });

  // A notebook as the kernel leaves it: one output per chart, the bundle exactly as sent.
  const cells = Object.entries(bundles).map(([name, data], i) => ({
    cell_type: "code", id: `c${i}`, execution_count: i + 1, metadata: {}, source: `viz.${name}Chart(run)`,
    outputs: [{ output_type: "execute_result", execution_count: i + 1, metadata: {}, data }],
  }));
  const notebook = join(work, "charts.ipynb");
  writeFileSync(notebook, JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells }));
  const env = { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: "1" };
  for (const [shot, extra] of [["nbconvert-debian-default", []], ["nbconvert-forge-template", ["--template-file", resolve("viz/nbconvert/forge.html.j2")]]] as const) {
    const result = await runCommand(PYTHON, ["-m", "jupyter", "nbconvert", "--to", "html", ...extra, "--output", shot, "--output-dir", work, notebook], { env });
    if (result.status !== 0) throw new Error(`nbconvert failed:\n${result.stderr}`);
    await page.goto(`file://${join(work, `${shot}.html`)}`);
    await page.screenshot({ path: join(OUT, `${shot}.png`), fullPage: true });
  }

  if (!process.argv.includes("--no-classic")) {
    const folder = join(work, "classic");
    mkdirSync(folder);
    writeFileSync(join(folder, "charts.ipynb"), JSON.stringify(demoNotebook()));
    const executed = resolve("test-output/notebooks/03-branch-paths-and-jumps.ipynb");
    const hasExecuted = existsSync(executed);
    const classicEnv = await kernelEnvironment();
    if (hasExecuted) {
      copyFileSync(executed, join(folder, "03.ipynb"));
      // Saved outputs show only in a trusted notebook (the signature goes to this run's data folder).
      const trust = await runCommand(PYTHON, ["-m", "nbformat.sign", join(folder, "03.ipynb")], { env: classicEnv }); // `jupyter trust`
      if (trust.status !== 0) throw new Error(`notebook trust failed:\n${trust.stderr}`);
    }
    const server = await startClassicNotebook(folder, classicEnv);
    try {
      const classic = await browser.newPage({ viewport: { width: 1200, height: 1300 } });
      await classic.goto(server.url("charts.ipynb"));
      await classic.waitForFunction(() => (window as { Jupyter?: { notebook?: { kernel?: { is_connected(): boolean } } } }).Jupyter?.notebook?.kernel?.is_connected() === true, null, { timeout: 60_000 });
      await classic.click("#celllink");
      await classic.click("#run_all_cells > a");
      await classic.waitForSelector(".output_area .output_html table", { state: "attached", timeout: 120_000 });
      await classic.screenshot({ path: join(OUT, "classic-notebook.png"), fullPage: true });
      if (hasExecuted) {
        const saved = await browser.newPage({ viewport: { width: 1200, height: 2600 } });
        await saved.goto(server.url("03.ipynb"));
        await saved.waitForFunction(() => document.querySelectorAll(".output_svg svg").length >= 4, null, { timeout: 60_000 });
        await saved.screenshot({ path: join(OUT, "classic-notebook-03.png"), fullPage: true });
      }
    } finally {
      await server.stop();
    }
  }
} finally {
  await browser.close();
}
console.log(`screenshots in ${OUT}`);
