import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { agentFolder } from "../fixtures.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));

/** `forge studio …` as a user starts it; resolves with its first stdout line (or its exit). */
function forgeStudio(args: string[]): Promise<{ line: string; code: number | null; stderr: string; kill(): void }> {
  const child = spawn(process.execPath, [join(root, "cli/bin.mjs"), "studio", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  return new Promise((resolve) => {
    const done = (code: number | null) => resolve({ line: stdout.split("\n")[0]!, code, stderr, kill: () => child.kill("SIGTERM") });
    child.stdout.on("data", (d) => {
      stdout += d;
      if (stdout.includes("\n")) done(null);
    });
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => done(code));
  });
}

describe("forge studio", () => {
  it("serves the folder on loopback with one command", async () => {
    const folder = agentFolder();
    const studio = await forgeStudio([folder, "--address", "127.0.0.1:0"]);
    try {
      const url = /http:\/\/127\.0\.0\.1:\d+\//.exec(studio.line)?.[0];
      expect(url, studio.line + studio.stderr).toBeDefined();
      expect(studio.line).toContain("loopback only");
      const agents = (await (await fetch(new URL("/api/agents", url)).then((r) => r.json())) as { agents: Array<{ name: string }> }).agents;
      expect(agents.map((a) => a.name)).toContain("greet");
    } finally {
      studio.kill();
    }
  });

  it("answers a mistake with one line, the usage and exit code 2", async () => {
    const r = await forgeStudio(["--adress", "x"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^forge studio: --adress: unknown option \[studio_invalid\]\nusage: forge studio/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
