/**
 * Fixtures for the studio's tests: a folder of agent files (templates a workflow can chain
 * without a model) and a run export written by datasets' own writer (real Arrow files).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportTable, tableFromRows, tableSchema } from "../../datasets/index.js";

export const AGENT_FILES: Record<string, string> = {
  "greet.toml": `kind = "template"
name = "greet"
help = "Says hello to someone"
template = "Hello {{name}}"

[inputs.name]
help = "who to greet"
type = "string"
`,
  "shout.toml": `kind = "template"
name = "shout"
help = "Upper-cases a text and adds an exclamation mark"
template = "{{text | upper}}!"

[inputs.text]
help = "the text to shout"
`,
  "frame.toml": `kind = "template"
name = "frame"
help = "Puts a text between brackets"
template = "[{{text}}]"

[inputs.text]
help = "the text to frame"
`,
};

/** A temporary folder holding AGENT_FILES (and `extra`). */
export function agentFolder(extra: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "forge-studio-"));
  for (const [name, text] of Object.entries({ ...AGENT_FILES, ...extra })) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const ZONES = [
  { text: "[Prompt] Think about the question.\n[Answer]", sequence: "setup", capture: null },
  { text: "[Prompt] Decide: yes or no?\n[Answer]", sequence: "decide", capture: "decision" },
  { text: "[Prompt] Explain why.\n[Answer]", sequence: "explain", capture: "reason" },
];

/** `<dir>/<runId>.samples.arrow` and `.paths.arrow` for `streams` streams, through datasets' writer. */
export async function writeRunExport(dir: string, runId: string, streams: number): Promise<string> {
  const meta = { meta: { runId, seed: 7 } as never, workflow: { format: "forge.szcp", version: 1, zones: ZONES } as never };
  const samples: object[] = [];
  const paths: object[] = [];
  for (let s = 0; s < streams; s++) {
    const yes = s % 3 !== 0;
    const pathId = yes ? "setup > decide > explain" : "setup > decide";
    const common = { run_id: runId, stream: s, path_id: pathId, status: s % 17 === 5 ? "timeout" : "finished", seed: BigInt(7), workflow_hash: "h", backend: "cpu" };
    samples.push({ ...common, extraction: "decision", text: yes ? `yes, stream ${s}` : `no, stream ${s}`, token_count: 3 });
    if (yes) samples.push({ ...common, extraction: "reason", text: `because ${s} is not a multiple of three`, token_count: 9 });
    const segs = yes ? [0, 1, 2] : [0, 1];
    let at = 0;
    segs.forEach((zone, i) => {
      const len = 10 + zone * 5;
      paths.push({ run_id: runId, stream: s, path_id: pathId, segment: i, step_start: at, step_end: at + len, sequence: ZONES[zone]!.sequence, block: 0, zone, zone_id: zone, repetition: 0, jumped: zone === 1 && !yes });
      at += len;
    });
  }
  const samplesPath = join(dir, `${runId}.samples.arrow`);
  await exportTable(tableFromRows("samples", samples, tableSchema("samples", meta)), { path: samplesPath });
  await exportTable(tableFromRows("paths", paths, tableSchema("paths", meta)), { path: join(dir, `${runId}.paths.arrow`) });
  return samplesPath;
}

/**
 * A real run on the project's default model (forge-tiny, its own tokenizer) with logprobs: the seed
 * example, `batch` streams, exported as `<dir>/<runId>.{samples,paths,tokens,decisions}.arrow` by
 * datasets' writers (tokens with their text from the backend's tokenizer, and the top 3 alternatives).
 */
export async function writeModelRunExport(dir: string, runId: string, batch = 4): Promise<{ run: import("../../forge/index.js").Run; tokenizer: import("../../forge/index.js").ForgeTokenizer; files: string[] }> {
  const forge = await import("../../forge/index.js");
  const { seedExample } = await import("../forge/engine/helpers.js");
  const { decisionsTable, exportRun, tokensTable } = await import("../../datasets/index.js");
  const backend = await forge.makeBackend();
  const { config, factory } = seedExample(6);
  const { run } = await forge.makeSession(backend).request(config, factory(), { batchSize: batch, seed: 5, logprobs: { top: 3 } });
  run.meta.runId = runId;
  await exportRun(run, { dir, formats: ["arrow"], name: runId });
  const tokens = join(dir, `${runId}.tokens.arrow`);
  const decisions = join(dir, `${runId}.decisions.arrow`);
  await exportTable(tokensTable(run, { tokenizer: backend.tokenizer }), { path: tokens });
  await exportTable(decisionsTable(run), { path: decisions });
  return { run, tokenizer: backend.tokenizer, files: [join(dir, `${runId}.samples.arrow`), join(dir, `${runId}.paths.arrow`), tokens, decisions] };
}
