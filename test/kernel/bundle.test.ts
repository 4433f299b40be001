/**
 * The kernel bundle (kernel/bundle.mjs): what the kernelspec runs. It must know when it is
 * stale, keep what modules find next to themselves, and load forge without the HTTP server's
 * and the queue's packages.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { BUNDLE_ENTRIES, bundleManifest, isFresh, kernelBundle, type BundleManifest } from "../../kernel/bundle.mjs";
import { PRELOADED_MODULES, REPO_ROOT } from "../../kernel/cells/index.js";

describe("the kernel bundle", () => {
  let folder: string;

  beforeAll(async () => {
    folder = await kernelBundle();
  });

  it("has an entry for each preloaded module, laid out like the repository", () => {
    for (const m of PRELOADED_MODULES) expect(Object.values(BUNDLE_ENTRIES)).toContain(m.path);
    expect(readFileSync(join(folder, "forge", "index.mjs"), "utf8")).toContain("parseUdpl");
  });

  it("is stale once an input changed, or Node, esbuild or the repository folder", () => {
    const manifest = bundleManifest(folder);
    expect(Object.keys(manifest.inputs)).toEqual(expect.arrayContaining(["kernel/main.ts", "forge/index.ts", "viz/index.ts", "tsconfig.json"]));
    const [size, mtime] = manifest.inputs["forge/index.ts"]!;
    // Another kernel may rebuild meanwhile (a source saved): judge this manifest against itself.
    const fresh = isFresh(manifest);
    const changed = (inputs: Partial<BundleManifest>): boolean => isFresh({ ...manifest, ...inputs });
    if (fresh) {
      expect(changed({ inputs: { ...manifest.inputs, "forge/index.ts": [size, mtime + 1] } })).toBe(false);
      expect(changed({ inputs: { ...manifest.inputs, "forge/index.ts": [size + 1, mtime] } })).toBe(false);
      expect(changed({ inputs: { ...manifest.inputs, "forge/gone.ts": [1, 1] } })).toBe(false);
      expect(changed({ node: "v0.0.0" })).toBe(false);
      expect(changed({ root: "/elsewhere" })).toBe(false);
    }
  });

  it("loads forge without fastify, bullmq or ioredis, tfjs through require; errors name the caller's line, as from the sources", () => {
    // With source maps on (as launch.mjs runs it), stack frames name the .ts sources, and the
    // SFCS call-site finder (forge/sfcs/callsite.ts: its own folder from import.meta.url) skips them.
    const script = `
      process.setSourceMapsEnabled(true);
      const forge = await import(${JSON.stringify(pathToFileURL(join(folder, "forge", "index.mjs")).href)});
      const { createRequire } = await import("node:module");
      const loaded = Object.keys(createRequire(${JSON.stringify(join(REPO_ROOT, "package.json"))}).cache);
      const heavy = ["fastify", "bullmq", "ioredis"].filter((p) => loaded.some((f) => f.includes("/node_modules/" + p + "/")));
      let error = "";
      try {
        forge.newProgram({}, {}, {});
      } catch (e) {
        error = e.message + " | " + e.stack.split(String.fromCharCode(10))[1];
      }
      console.log(JSON.stringify({ heavy, tfjs: loaded.some((f) => f.includes("/node_modules/@tensorflow/tfjs/")), error }));
    `;
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: REPO_ROOT, encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { heavy: string[]; tfjs: boolean; error: string };
    expect(out.heavy).toEqual([]);
    expect(out.tfjs).toBe(true);
    expect(out.error).toMatch(/^newProgram\(…\) at \S*eval\S*:\d+:\d+: /);
    expect(out.error).toContain(join(REPO_ROOT, "forge", "sfcs"));
    expect(bundleManifest(folder).packages["forge/index"]!.requires).toContain("@tensorflow/tfjs");
  });
});
