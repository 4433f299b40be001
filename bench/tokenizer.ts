/**
 * Encode throughput of the three test tokenizers, in MB of UTF-8 text per second, with the
 * ratio to ByteTokenizer (the baseline, measured in the same process on the same text).
 *
 *   npx tsx bench/tokenizer.ts [--mb 1] [--runs 3]
 *
 * The text is seeded prose (test/helpers/tokenizers.ts `sampleText`). Each tokenizer encodes
 * it once to warm up (JIT, BPE caches), then `runs` times; the best run is reported.
 * docs/engine.md#tokenizers expects ≈ 1 MB/s from @huggingface/tokenizers.
 */
import type { ForgeTokenizer } from "../forge/tokenizer/index.js";
import { loadTestTokenizers, sampleText } from "../test/helpers/tokenizers.js";

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`--${name} needs a positive number, got ${JSON.stringify(process.argv[at + 1] ?? "")}`);
    process.exit(2);
  }
  return value;
}

/** Best-of-`runs` encode time in seconds, after one warm-up encode; also the token count. */
function timeEncode(tokenizer: ForgeTokenizer, text: string, runs: number): { seconds: number; tokens: number } {
  const tokens = tokenizer.encode(text).length;
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    tokenizer.encode(text);
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e9);
  }
  return { seconds: best, tokens };
}

async function main(): Promise<void> {
  const megabytes = option("mb", 1);
  const runs = Math.round(option("runs", 3));
  const text = sampleText(megabytes * 1e6);
  const mb = Buffer.byteLength(text) / 1e6;
  const loadStart = performance.now();
  const tokenizers = await loadTestTokenizers();
  console.log(`loaded byte, gpt2, llama3 in ${((performance.now() - loadStart) / 1000).toFixed(2)} s; text ${mb.toFixed(2)} MB, best of ${runs}`);

  const rows: { name: string; identity: string; tokens: number; mbps: number }[] = [];
  for (const name of ["byte", "gpt2", "llama3"] as const) {
    const tokenizer = tokenizers[name];
    const { seconds, tokens } = timeEncode(tokenizer, text, runs);
    rows.push({ name, identity: tokenizer.identity, tokens, mbps: mb / seconds });
  }
  const baseline = rows[0]!.mbps;
  console.log(["tokenizer", "identity".padEnd(25), "tokens".padStart(9), "MB/s".padStart(8), "× byte".padStart(8)].join("  "));
  for (const row of rows) {
    console.log(
      [row.name.padEnd(9), row.identity.padEnd(25), String(row.tokens).padStart(9), row.mbps.toFixed(2).padStart(8), (row.mbps / baseline).toFixed(3).padStart(8)].join("  "),
    );
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
