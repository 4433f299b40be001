import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { installKernelspec } from "../../kernel/install.js";
import { REPO_ROOT } from "../../kernel/cells/prelude.js";
import { DISPLAY_NAME, KERNEL_NAME } from "../../kernel/server/kernel-info.js";

describe("kernelspec install", () => {
  it("writes a kernelspec that starts this repo's kernel with this Node, and Jupyter lists it", () => {
    const prefix = mkdtempSync(join(tmpdir(), "forge-kernelspec-"));
    const run = spawnSync(process.execPath, ["--import", "tsx", "kernel/install.ts", "--prefix", prefix], { cwd: REPO_ROOT, encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Installed kernelspec forge-typescript in .*share\/jupyter\/kernels\/forge-typescript/);
    const spec = JSON.parse(readFileSync(join(prefix, "share", "jupyter", "kernels", "forge-typescript", "kernel.json"), "utf8"));
    expect(spec.argv[0]).toBe(process.execPath);
    expect(spec.argv).toContain(join(REPO_ROOT, "kernel", "launch.mjs"));
    expect(run.stdout).toMatch(/Kernel bundle ready in /);
    expect(spec.argv.at(-1)).toBe("{connection_file}");
    expect(spec.language).toBe("typescript");
    const list = spawnSync("/usr/bin/python3", ["-m", "jupyter_client.kernelspecapp", "list", "--json"], {
      env: { ...process.env, JUPYTER_PATH: join(prefix, "share", "jupyter") },
      encoding: "utf8",
    });
    expect(list.status, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout).kernelspecs["forge-typescript"].spec.display_name).toBe("TypeScript (Workflow Forge)");
  });

  it("rejects an unknown option with a clear message", () => {
    const run = spawnSync(process.execPath, ["--import", "tsx", "kernel/install.ts", "--bogus"], { cwd: REPO_ROOT, encoding: "utf8" });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("kernel:install: unknown option --bogus");
    expect(typeof installKernelspec).toBe("function");
  });
});

describe("the notebooks' kernel metadata", () => {
  it("names the kernel as the kernelspec does (Lab shows the notebook's display_name until the kernel starts)", () => {
    const notebooks = readdirSync(join(REPO_ROOT, "notebooks")).filter((f) => f.endsWith(".ipynb"));
    expect(notebooks.length).toBeGreaterThan(0);
    for (const file of notebooks) {
      const { kernelspec } = JSON.parse(readFileSync(join(REPO_ROOT, "notebooks", file), "utf8")).metadata;
      expect(kernelspec, file).toMatchObject({ name: KERNEL_NAME, display_name: DISPLAY_NAME, language: "typescript" });
    }
    expect(DISPLAY_NAME).toBe("TypeScript (Workflow Forge)");
  });
});
