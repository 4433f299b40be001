/**
 * `forge studio [folder] [--address host:port] [--auth-file tokens.txt] [--allow-env NAME[,NAME]] [--insecure]`:
 * serve Forge Studio over `folder` (default: the current one) until interrupted.
 */
import { ForgeError } from "../../forge/errors.js";
import { StudioError } from "../logic/errors.js";
import { startStudio, type StudioOptions } from "./app.js";

const USAGE = "usage: forge studio [folder] [--address host:port] [--auth-file tokens.txt] [--allow-env NAME[,NAME]] [--insecure]";

export function parseStudioArgs(argv: string[]): StudioOptions | "help" {
  const options: StudioOptions = { folder: ".", address: "127.0.0.1:4173", allowEnv: [] };
  let folderSeen = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new StudioError(arg, "needs a value");
      return v;
    };
    if (arg === "--help" || arg === "-h") return "help";
    else if (arg === "--address") options.address = value();
    else if (arg === "--auth-file") options.authFile = value();
    else if (arg === "--allow-env") options.allowEnv!.push(...value().split(",").filter(Boolean));
    else if (arg === "--insecure") options.insecure = true;
    else if (arg.startsWith("-")) throw new StudioError(arg, "unknown option");
    else if (folderSeen) throw new StudioError(arg, "one folder only");
    else {
      options.folder = arg;
      folderSeen = true;
    }
  }
  return options;
}

async function main(): Promise<void> {
  try {
    const options = parseStudioArgs(process.argv.slice(2));
    if (options === "help") {
      console.log(USAGE);
      return;
    }
    const studio = await startStudio(options);
    console.log(`Forge Studio: ${studio.url}  (folder ${studio.workspace.folder}; ${options.authFile ? "bearer auth" : "loopback only, no auth"})`);
    const stop = () => void studio.close().finally(() => process.exit(0));
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  } catch (error) {
    if (error instanceof ForgeError) {
      console.error(`forge studio: ${error.message} [${error.code}]\n${USAGE}`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
}

await main();
