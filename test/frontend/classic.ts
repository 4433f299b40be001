/**
 * Debian's classic Jupyter Notebook (`jupyter-notebook`, 6.4) and Debian's Chromium, for the
 * browser test and scripts/screenshots.ts: the project's kernel installed into a temporary
 * prefix, a notebook server on 127.0.0.1 with a random token and its own config, runtime
 * and data folders (nothing of the user's is read or written), and a headless Chromium.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { runCommand } from "../helpers/command.js";

export const PYTHON = "/usr/bin/python3"; // Debian's Jupyter lives here, not under the python3 first on PATH
export const CHROMIUM = "/usr/bin/chromium";

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** A temporary Jupyter prefix with the project's kernelspec in it; returns the environment that finds it. */
export async function kernelEnvironment(): Promise<NodeJS.ProcessEnv> {
  const root = mkdtempSync(join(tmpdir(), "forge-frontend-"));
  const prefix = join(root, "prefix");
  const install = await runCommand("npx", ["tsx", "kernel/install.ts", "--prefix", prefix]);
  if (install.status !== 0) throw new Error(`kernel install failed:\n${install.stderr}`);
  for (const dir of ["config", "runtime", "data"]) mkdirSync(join(root, dir));
  return {
    ...process.env,
    JUPYTER_PATH: join(prefix, "share/jupyter"),
    JUPYTER_CONFIG_DIR: join(root, "config"),
    JUPYTER_RUNTIME_DIR: join(root, "runtime"),
    JUPYTER_DATA_DIR: join(root, "data"),
    PYDEVD_DISABLE_FILE_VALIDATION: "1",
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface ClassicNotebook {
  /** The page of a notebook in the server's folder, token included. */
  url(notebook: string): string;
  stop(): Promise<void>;
}

/** `jupyter notebook` serving `folder` on 127.0.0.1 with a random token; resolves once it answers. */
export async function startClassicNotebook(folder: string, env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<ClassicNotebook> {
  const port = await freePort();
  const token = randomBytes(24).toString("hex");
  const server: ChildProcess = spawn(
    PYTHON,
    [
      "-m", "notebook", "--no-browser", "--ip=127.0.0.1", `--port=${port}`, "--port-retries=0", `--NotebookApp.token=${token}`, `--notebook-dir=${folder}`,
      // CI containers run as root, which the server refuses without this.
      ...(process.getuid?.() === 0 ? ["--allow-root"] : []),
    ],
    { env, stdio: ["ignore", "ignore", "pipe"] },
  );
  let log = "";
  server.stderr!.setEncoding("utf8").on("data", (chunk: string) => (log += chunk));
  const exited = new Promise<void>((resolve) => server.once("exit", () => resolve()));
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (server.exitCode === null && server.signalCode === null) {
      server.kill("SIGTERM");
      const timer = setTimeout(() => server.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`jupyter notebook exited (${server.exitCode}; Debian's jupyter-notebook, from scripts/setup.sh, is needed):\n${log}`);
    try {
      const reply = await fetch(`${base}/api/status?token=${token}`);
      if (reply.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`jupyter notebook did not answer within ${timeoutMs} ms:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { url: (notebook) => `${base}/notebooks/${encodeURIComponent(notebook)}?token=${token}`, stop };
}

export const DEMO_RUN_ID = "3589f1e9-e31e-4cca-b738-b9e3fae8dfc5";

/** A notebook that needs no model run: an agents workflow chart (a `viz` chart like the run
 * charts, same bundle) and a samples table with one run id and a two-line text. */
export function demoNotebook(): object {
  const code = (source: string) => ({ cell_type: "code", execution_count: null, metadata: {}, outputs: [], source });
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: "forge-typescript", display_name: "TypeScript (Workflow Forge)", language: "typescript" } },
    cells: [
      { cell_type: "markdown", metadata: {}, source: "# Charts in the classic Notebook\nA `viz` chart shows as SVG; tables as HTML." },
      code(
        `viz.workflowGraphChart({
  name: "feedback",
  nodes: [
    { id: "sample", agent: "forge.sample", unwired: [], problems: [], handler: false },
    { id: "score", agent: "score", unwired: [], problems: [], handler: false },
    { id: "export", agent: "datasets.export", unwired: [], problems: [], handler: false },
  ],
  edges: [{ from: "sample", to: "score", kind: "data" }, { from: "score", to: "export", kind: "data" }],
})`,
      ),
      code(
        `datasets.tableFromRows("samples", [0, 1, 2].map((stream) => ({
  run_id: "${DEMO_RUN_ID}", stream, extraction: "answer", text: \`stream \${stream}, first line\\nsecond line\`,
  token_count: 4, path_id: "setup > answer", status: "done", seed: 0, workflow_hash: "wf-1", backend: "wasm",
})))`,
      ),
    ],
  };
}
