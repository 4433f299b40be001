/**
 * Where the default model lives: $FORGE_MODEL when set, else the project's own model
 * (trained by `npm run train:model`, committed under models/forge-tiny).
 */
import { access } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { BackendConfigError } from "./errors.js";

export const DEFAULT_MODEL_FOLDER = fileURLToPath(new URL("../../models/forge-tiny/", import.meta.url));
export const MODEL_ENV = "FORGE_MODEL";

export async function defaultModelFolder(): Promise<string> {
  const fromEnv = process.env[MODEL_ENV];
  const folder = fromEnv !== undefined && fromEnv !== "" ? fromEnv : DEFAULT_MODEL_FOLDER;
  try {
    await access(folder);
  } catch {
    const origin = folder === fromEnv ? `$${MODEL_ENV} names ${folder}, which does not exist` : `the default model is missing at ${folder}`;
    throw new BackendConfigError("makeBackend(model)", `${origin}; run \`npm run train:model\` or pass a model folder to makeBackend(folder)`);
  }
  return folder;
}
