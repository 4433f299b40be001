/**
 * Hostile UDPL inputs (issue #15, items 6–7): each case is a generated file that used to
 * allocate without bound, throw something other than a `UdplError`, or take super-linear
 * time. The catalogue is shared by the test suite (test/hostile/udpl.test.ts) and this
 * runner, which parses each case in its own process (heap capped, wall-clock capped) so that
 * a crash or a runaway case is counted rather than taking the runner down:
 *
 *   npx tsx bench/compile/hostile.ts [--timeout 60] [--heap 2048] [case …]
 *
 * A case is "held" when parsing ends in a result or a `UdplError` within
 * `1 s + 1 µs per byte`; anything else (another exception, a crash, a timeout, the time
 * bound missed) "failed".
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface HostileCase {
  name: string;
  /** The issue item it belongs to. */
  item: 6 | 7;
  what: string;
  build(): string;
}

const CONFIG = (extra = "", tags = '["t1", "t2"]', sequences = '["main"]'): string =>
  `[config]
zone_tokens = ["[P]", "[A]", "[E]"]
required_tokens = ["[P]"]
valid_tags = ${tags}
sequences = ${sequences}
control_token = "[J]"
escape_token = "[X]"
${extra}
`;

const BLOCK = (extra = "", text = "[P] hi [A]"): string => `[[main]]\ntext = ${JSON.stringify(text)}\ntags = [["t1"], ["t2"]]\n${extra}`;

/** The 173-byte file of the issue, with `repeats = <value>`. */
export const repeatsFile = (value: string): string =>
  `[config]\nzone_tokens = ["[P]", "[A]"]\nsequences = ["s"]\ncontrol_token = "[J]"\nvalid_tags = []\n\n[[s]]\ntext = "[P] ok [A]"\nrepeats = ${value}\n`;

function range(n: number, f: (i: number) => string, sep = ", "): string {
  const out: string[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = f(i);
  return out.join(sep);
}

export const HOSTILE_CASES: HostileCase[] = [
  // ── item 6: every count is bounded ──────────────────────────────────────────
  { name: "repeats-4e6", item: 6, what: "repeats = 4000000 in a 173-byte file", build: () => repeatsFile("4000000") },
  { name: "repeats-1890976446", item: 6, what: "repeats = 1890976446 (aborted the process)", build: () => repeatsFile("1890976446") },
  { name: "repeats-float-max", item: 6, what: "repeats = 1.7976931348623157e+308 (RangeError)", build: () => repeatsFile("1.7976931348623157e+308") },
  { name: "repeats-1e15", item: 6, what: "repeats = 1e15 (an integral float)", build: () => repeatsFile("1e15") },
  {
    name: "repeats-many-blocks",
    item: 6,
    what: "2 000 blocks of repeats = 10000 each (40 M zones from 70 KB)",
    build: () => CONFIG() + range(2000, () => BLOCK("repeats = 10000\n"), "\n"),
  },
  { name: "max-gen-1e300", item: 6, what: "max_gen_tokens = 1e300", build: () => CONFIG() + BLOCK("max_gen_tokens = 1e300\n") },
  { name: "default-max-2^53", item: 6, what: "default_max_token_length = 9007199254740991", build: () => CONFIG("default_max_token_length = 9007199254740991") + BLOCK() },
  {
    name: "tagset-200k",
    item: 6,
    what: "a tagset of 200 000 repetitions",
    build: () => CONFIG() + `[[main]]\ntext = "[P] hi [A]"\ntagset = [${range(200_000, () => "[[], []]")}]\n`,
  },
  {
    name: "deep-dotted-arguments",
    item: 6,
    what: "placeholder arguments nested 100 000 tables deep by a dotted key",
    build: () => CONFIG() + BLOCK("", "[P] {q} [A]") + `[main.q]\nname = "r"\narguments.${range(100_000, () => "a", ".")} = 1\n`,
  },
  { name: "source-20MB", item: 6, what: "a 20 MB file (a comment)", build: () => CONFIG() + BLOCK() + "#" + "x".repeat(20_000_000) + "\n" },

  // ── item 7: no quadratic path ──────────────────────────────────────────────
  {
    name: "jump-40k",
    item: 7,
    what: "40 000 unescaped [J] in one block (one warning each)",
    build: () => CONFIG() + BLOCK("", "[P] " + "[J]\n".repeat(40_000) + "[A]"),
  },
  {
    name: "jump-50k-blocks",
    item: 7,
    what: "50 000 blocks (2.9 MB), each with an unescaped [J]",
    build: () => CONFIG() + range(50_000, () => BLOCK("", "[P] x [J] [A]"), "\n"),
  },
  {
    name: "zone-tokens-100k",
    item: 7,
    what: "100 000 zone_tokens",
    build: () => `[config]\nzone_tokens = [${range(100_000, (i) => `"[z${i}]"`)}]\nsequences = ["main"]\ncontrol_token = "[J]"\nvalid_tags = []\n[[main]]\ntext = "[z0] x [z1]"\n`,
  },
  {
    name: "suggest-16k-tag",
    item: 7,
    what: "a 16 000-character tag against 10 000 valid tags (did you mean)",
    build: () => CONFIG("", `[${range(10_000, (i) => `"tag${i}${"y".repeat(i % 200)}"`)}]`) + `[[main]]\ntext = "[P] hi [A]"\ntags = [["${"q".repeat(16_000)}"], []]\n`,
  },
  {
    name: "unknown-key-10MB",
    item: 7,
    what: "an unknown 10 MB key in [config]",
    build: () => CONFIG() + `${"k".repeat(10_000_000)} = 1\n` + BLOCK(),
  },
  { name: "newlines-10M-syntax", item: 7, what: "ten million newlines, then a TOML syntax error", build: () => "\n".repeat(10_000_000) + "x = \n" },
  { name: "newlines-1M-syntax", item: 7, what: "a million newlines, then a TOML syntax error", build: () => "\n".repeat(1_000_000) + "x = \n" },
  {
    name: "newlines-1M-lint",
    item: 7,
    what: "a million newlines, then an unknown [config] field",
    build: () => CONFIG() + "\n".repeat(1_000_000) + "bogus = 1\n" + BLOCK(),
  },
  {
    name: "newlines-10M-lint",
    item: 7,
    what: "ten million newlines, then an unknown [config] field",
    build: () => CONFIG() + "\n".repeat(10_000_000) + "bogus = 1\n" + BLOCK(),
  },
  {
    name: "valid-tags-65k",
    item: 7,
    what: "65 536 distinct valid_tags (the duplicate check)",
    build: () => CONFIG("", `[${range(65_536, (i) => `"t${i}"`)}]`) + BLOCK(),
  },
  {
    name: "tag-refs-100k",
    item: 7,
    what: "10 000 valid tags, one zone tagged 100 000 times",
    build: () => CONFIG("", `[${range(10_000, (i) => `"t${i}"`)}]`) + `[[main]]\ntext = "[P] hi [A]"\ntags = [[${range(100_000, (i) => `"t${(i * 7) % 10_000}"`)}], []]\n`,
  },
  {
    name: "sequences-50k",
    item: 7,
    what: "50 000 sequences, all listed",
    build: () => CONFIG("", '["t1", "t2"]', `[${range(50_000, (i) => `"s${i}"`)}]`) + range(50_000, (i) => `[[s${i}]]\ntext = "[P] x [A]"\n`, "\n"),
  },
  {
    name: "braces-1MB",
    item: 7,
    what: "500 000 '{a' in a block text (unmatched braces)",
    build: () => CONFIG() + BLOCK("", "[P] " + "{a".repeat(500_000) + " [A]"),
  },
  {
    name: "long-name-many-elements",
    item: 7,
    what: "an unlisted sequence with a 100 000-character name and 100 000 tags (the locator's paths)",
    build: () => {
      const name = "n".repeat(100_000);
      return CONFIG() + BLOCK() + `[[${name}]]\ntext = "[P] x [A]"\ntags = [[${range(100_000, () => '"t1"')}], []]\n`;
    },
  },
  {
    name: "overlapping-patterns",
    item: 7,
    what: "15 self-overlapping zone tokens (a…a; with [P], SZCP_LIMITS.maxZoneTokens) over a block of 1 000 000 a",
    build: () =>
      `[config]\nzone_tokens = ["[P]", ${range(15, (i) => `"${"a".repeat(i + 2)}"`)}]\nsequences = ["main"]\ncontrol_token = "[J]"\nvalid_tags = []\n[[main]]\ntext = "[P] ${"a".repeat(1_000_000)}"\n`,
  },
  {
    name: "warnings-unlisted-50k",
    item: 7,
    what: "50 000 sequences not listed in [config] (one warning each)",
    build: () => CONFIG() + BLOCK() + range(50_000, (i) => `[[u${i}]]\ntext = "[P] x [A]"\n`, "\n"),
  },
];

export interface HostileOutcome {
  name: string;
  bytes: number;
  ms: number;
  /** "parsed", "UdplError", another error's name, "crash", "timeout". */
  outcome: string;
  detail: string;
  rssMB: number;
  held: boolean;
}

/** The time a parse of `bytes` may take in the runner: 1 s + 1 µs per byte. */
export const heldBoundMs = (bytes: number): number => 1000 + bytes / 1000;

async function runOne(name: string): Promise<void> {
  const c = HOSTILE_CASES.find((x) => x.name === name);
  if (!c) throw new Error(`no case ${name}`);
  const { parseUdpl, UdplError } = await import("../../forge/udpl/index.js");
  const text = c.build();
  const t0 = performance.now();
  let outcome = "parsed";
  let detail = "";
  try {
    const r = parseUdpl(text, { file: `${name}.toml` });
    detail = `${r.warnings.length} warnings, ${Object.values(r.sequences).reduce((n, s) => n + s.zones.length, 0)} zones`;
  } catch (err) {
    outcome = err instanceof UdplError ? "UdplError" : (err as Error)?.name ?? typeof err;
    detail = err instanceof UdplError ? err.reason : String((err as Error)?.message ?? err);
  }
  const ms = performance.now() - t0;
  const rssMB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ name, bytes: text.length, ms, outcome, detail: detail.slice(0, 160), rssMB }) + "\n");
}

function runAll(names: string[], timeoutS: number, heapMB: number): HostileOutcome[] {
  const self = fileURLToPath(import.meta.url);
  const results: HostileOutcome[] = [];
  for (const c of HOSTILE_CASES.filter((x) => names.length === 0 || names.includes(x.name))) {
    const t0 = Date.now();
    const child = spawnSync(process.execPath, [`--max-old-space-size=${heapMB}`, "--import", "tsx", self, "--run", c.name], {
      encoding: "utf8",
      timeout: timeoutS * 1000,
      maxBuffer: 1 << 20,
    });
    let r: HostileOutcome;
    const line = child.stdout?.trim().split("\n").pop() ?? "";
    if (child.status === 0 && line.startsWith("{")) {
      const o = JSON.parse(line) as Omit<HostileOutcome, "held">;
      r = { ...o, held: (o.outcome === "parsed" || o.outcome === "UdplError") && o.ms <= heldBoundMs(o.bytes) };
    } else {
      const timedOut = child.error && (child.error as NodeJS.ErrnoException).code === "ETIMEDOUT";
      const why = (child.stderr ?? "").split("\n").filter((l) => /Error|FATAL|Allocation|abort/i.test(l)).slice(0, 1).join(" ");
      r = {
        name: c.name,
        bytes: Number.NaN,
        ms: Date.now() - t0,
        outcome: timedOut ? "timeout" : "crash",
        detail: timedOut ? `> ${timeoutS} s` : `${child.signal ?? `exit ${child.status}`} ${why}`.slice(0, 160),
        rssMB: Number.NaN,
        held: false,
      };
    }
    results.push(r);
    const size = Number.isNaN(r.bytes) ? "" : `${(r.bytes / 1e6).toFixed(2)} MB`;
    console.log(`${r.held ? "held  " : "FAILED"} item ${c.item} ${c.name.padEnd(26)} ${size.padStart(9)} ${r.ms.toFixed(0).padStart(7)} ms ${Number.isNaN(r.rssMB) ? "" : `${r.rssMB.toFixed(0)} MB rss`}  ${r.outcome}: ${r.detail.split("\n")[0]}`);
  }
  const held = results.filter((r) => r.held).length;
  console.log(`tried ${results.length}, held ${held}, failed ${results.length - held}`);
  return results;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const argv = process.argv.slice(2);
  const at = argv.indexOf("--run");
  if (at >= 0) await runOne(argv[at + 1]);
  else {
    const opt = (name: string, fallback: number): number => {
      const i = argv.indexOf(`--${name}`);
      if (i < 0) return fallback;
      const v = Number(argv[i + 1]);
      argv.splice(i, 2);
      return v;
    };
    const timeoutS = opt("timeout", 60);
    const heapMB = opt("heap", 2048);
    runAll(argv, timeoutS, heapMB);
  }
}
