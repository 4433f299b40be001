/** Where the project's own model lives (trained by `npm run train:model`, committed under models/). */
import { access } from "node:fs/promises";
import { fileURLToPath } from "node:url";

export const DEFAULT_MODEL_FOLDER = fileURLToPath(new URL("../../models/forge-tiny/", import.meta.url));

export async function defaultModelFolder(): Promise<string> {
  try {
    await access(DEFAULT_MODEL_FOLDER);
  } catch {
    throw new Error(
      `the default model is missing at ${DEFAULT_MODEL_FOLDER}; run \`npm run train:model\` or pass a model folder to makeBackend(folder)`,
    );
  }
  return DEFAULT_MODEL_FOLDER;
}
