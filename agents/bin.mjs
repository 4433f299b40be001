#!/usr/bin/env node
// `forge-agent` executable: registers tsx (resolved from this package, so it works from any
// directory) and runs the TypeScript CLI. package.json: "bin": { "forge-agent": "agents/bin.mjs" }.
import { register } from "tsx/esm/api";

register();
const { main } = await import("./cli.ts");
process.exitCode = await main(process.argv.slice(2));
