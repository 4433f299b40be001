// Forge Studio's web app: built by Vite from studio/web into studio/dist (git-ignored), served by
// studio/server. Everything is bundled (no CDN at run time), so the studio works offline.
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here("./web"),
  base: "./",
  plugins: [react()],
  logLevel: "warn",
  build: {
    outDir: here("./dist"),
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 2048,
  },
});
