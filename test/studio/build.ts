/**
 * The e2e tests need the built web app (studio/dist): built here when it is missing or older than
 * its sources (scripts/setup.sh builds it once on a fresh clone).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const studio = fileURLToPath(new URL("../../studio/", import.meta.url));

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

export function ensureStudioBuilt(): void {
  const index = join(studio, "dist", "index.html");
  const sources = Math.max(newest(join(studio, "web")), newest(join(studio, "logic")), statSync(join(studio, "vite.config.ts")).mtimeMs);
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  execFileSync("npm", ["run", "--silent", "build:studio"], { cwd: join(studio, ".."), stdio: "inherit" });
}
