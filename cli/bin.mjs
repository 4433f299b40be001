#!/usr/bin/env node
// `forge` executable: registers tsx (resolved from this package, so it works from any
// directory), then runs a subcommand.
//   forge run [--udpl FILE] [--model DIR] [--batch N] …   the seed example end to end (npm start)
//   forge worker --redis redis://host:6379 [--model DIR] …  a queue worker (forge/transport/queue/README.md)
//   forge studio [folder] [--address host:port] [--auth-file F]  Forge Studio, the web editor (studio/README.md)
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";

register();
const commands = { run: "./main.ts", worker: "../forge/transport/queue/worker-main.ts", studio: "../studio/server/main.ts" };
const [command, ...rest] = process.argv.slice(2);
if (command !== undefined && Object.hasOwn(commands, command)) {
  // Each command's module runs as if started directly: argv[1] is its own path.
  const entry = new URL(commands[command], import.meta.url);
  process.argv = [process.argv[0], fileURLToPath(entry), ...rest];
  await import(entry.href);
} else {
  console.error("usage: forge run [options] | forge worker --redis URL [options] | forge studio [folder] [options]");
  process.exitCode = 2;
}
