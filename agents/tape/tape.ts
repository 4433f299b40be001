/**
 * The results tape: every run and every step event (queued, started, succeeded, failed,
 * retried, skipped, compensated, fallback) with inputs, outputs and timings, appended to
 * SQLite through better-sqlite3 (WAL). `outcomes()` is what a resumed run reads to avoid
 * running a finished step again.
 *
 * Durability — what is promised, exactly (also in agents/NOTES.md):
 *  - The tape is always a prefix of what was recorded: events are committed in order.
 *  - A commit survives a killed process (SIGKILL, crash); with `synchronous = NORMAL` in WAL
 *    mode only a power loss / OS crash can drop the last commits.
 *  - Pure steps (the fast path): with the default `durability: "turn"` the events of one
 *    event-loop turn (at most 1024) are committed together when the loop turns, so a killed
 *    process loses at most the events of its last turn, and a resumed run may run a pure step
 *    again whose end fell in that turn — never one whose end is on the tape.
 *  - Side-effecting steps (`ProcAgent.sideEffects`): every event of the step is committed
 *    before the executor goes on (`record(e, { commit: true })`): the start before the agent
 *    runs, the end before any dependent sees the outputs. A step whose start is on the tape
 *    but whose end is not is "in doubt" (`unfinished()`), and the executor does not run it again
 *    blindly (see ProcAgent.sideEffects).
 *  - `durability: "event"` commits every event on its own (~50–100 µs each on a VM disk).
 */
import Database from "better-sqlite3";
import { AgentError } from "../errors.js";
import type { Inputs, Outputs } from "../values.js";
import { decodeValue, encodeValue } from "./codec.js";

export type TapeEventKind =
  | "queued"
  | "started"
  | "succeeded"
  | "failed"
  | "retried"
  | "skipped"
  | "compensated"
  | "fallback";

/** Final state of a step as the workflow sees it. */
export type StepStatus = "succeeded" | "skipped" | "failed" | "fallback";

export interface TapeEvent {
  runId: string;
  /** Step path: "a", "outer/inner", "loop#2/body". */
  path: string;
  kind: TapeEventKind;
  attempt?: number;
  /** Wall-clock time of the event (ms since epoch). */
  at?: number;
  durationMs?: number;
  inputs?: Inputs;
  outputs?: Outputs;
  error?: string;
  /** Set on the event that settles the step: its final status (what resume reads). */
  status?: StepStatus;
}

/** A step an earlier process started and did not settle (see `unfinished()`). */
export interface UnfinishedStep {
  /** Its last attempt. */
  attempt?: number;
  /** When its last event was recorded (ms since epoch). */
  at: number;
  /** Its last event is "started": it may have done its work, and nothing on the tape says whether. */
  inDoubt: boolean;
}

export interface StepOutcome {
  status: StepStatus;
  outputs: Outputs;
  error?: string;
}

export interface RunRecord {
  runId: string;
  agent: string;
  inputs: Inputs;
  status: "running" | "succeeded" | "failed";
  outputs?: Outputs;
  error?: string;
  startedAt: number;
  finishedAt?: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  run_id TEXT PRIMARY KEY, agent TEXT NOT NULL, inputs TEXT NOT NULL, status TEXT NOT NULL,
  outputs TEXT, error TEXT, started_at INTEGER NOT NULL, finished_at INTEGER);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, path TEXT NOT NULL, kind TEXT NOT NULL,
  attempt INTEGER, at INTEGER NOT NULL, duration_ms REAL, inputs TEXT, outputs TEXT, error TEXT, status TEXT);
CREATE INDEX IF NOT EXISTS events_by_run ON events(run_id, path);
`;

interface EventRow {
  run_id: string;
  path: string;
  kind: TapeEventKind;
  attempt: number | null;
  at: number;
  duration_ms: number | null;
  inputs: string | null;
  outputs: string | null;
  error: string | null;
  status: StepStatus | null;
}

export type TapeDurability = "event" | "turn";

type EventParams = [string, string, string, number | null, number, number | null, string | null, string | null, string | null, string | null];

const GROUP_LIMIT = 1024;

/**
 * Characters of one stored value (inputs, outputs, error, step path) a read accepts. A tape
 * is a file anyone can hand over: one row claiming 1 GB would be read into one string and
 * parsed as JSON (several GB of heap) before anything could say what was wrong. Far above
 * what a run records (an Arrow table of thousands of streams is a few MB of base64).
 */
export const MAX_TAPE_VALUE_CHARS = 64 * 1024 * 1024;

export class Tape {
  readonly file: string;
  readonly durability: TapeDurability;
  private readonly db: Database.Database;
  private readonly insertEvent: Database.Statement;
  private readonly insertMany: (rows: EventParams[]) => void;
  private pending: EventParams[] = [];
  private flushScheduled = false;

  private constructor(file: string, durability: TapeDurability) {
    this.file = file;
    this.durability = durability;
    try {
      this.db = new Database(file);
    } catch (error) {
      throw new AgentError(`cannot open tape "${file}": ${(error as Error).message}`, "tape");
    }
    // SQLite opens any file lazily: a file that is not a database, or a damaged one, fails here.
    this.insertEvent = this.reading("open it", () => {
      try {
        return this.prepare();
      } catch (error) {
        this.db.close();
        throw error;
      }
    });
    this.insertMany = this.db.transaction((rows: EventParams[]) => {
      for (const row of rows) this.insertEvent.run(...row);
    });
  }

  /** WAL mode, the schema, the insert statement. */
  private prepare(): Database.Statement {
    this.db.pragma("journal_mode = WAL");
    // NORMAL is durable against a killed process (the OS keeps the WAL); only power loss can drop the tail.
    this.db.pragma("synchronous = NORMAL");
    this.db.exec(SCHEMA);
    return this.db.prepare(
      "INSERT INTO events (run_id, path, kind, attempt, at, duration_ms, inputs, outputs, error, status) VALUES (?,?,?,?,?,?,?,?,?,?)",
    );
  }

  /**
   * Runs a read of the tape; a failure of SQLite (a damaged file, not a database) or of a
   * stored value that does not decode becomes an AgentError naming the tape and what was read,
   * instead of SQLite's bare "database disk image is malformed".
   */
  private reading<T>(what: string, read: () => T): T {
    try {
      return read();
    } catch (error) {
      if (error instanceof AgentError) throw error;
      throw new AgentError(`tape "${this.file}": cannot ${what}: ${(error as Error).message} (the file is damaged or not a Forge tape)`, "tape", { cause: error });
    }
  }

  /** A stored value, decoded; `where` names it for the error when it does not decode. */
  private decode(text: string | null, where: string): unknown {
    try {
      return decodeValue(text);
    } catch (error) {
      throw new AgentError(`tape "${this.file}": ${where} is not a readable value: ${(error as Error).message} (the file is damaged or was written by something else)`, "tape", { cause: error });
    }
  }

  static open(file: string, options: { durability?: TapeDurability } = {}): Tape {
    return new Tape(file, options.durability ?? "turn");
  }

  /** Commit buffered events now (reads and run updates call this first). */
  flush(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0 || !this.db.open) return;
    const rows = this.pending;
    this.pending = [];
    this.insertMany(rows);
  }

  startRun(runId: string, agent: string, inputs: Inputs): void {
    this.flush();
    const existing = this.reading(`read run "${runId}"`, () => this.db.prepare("SELECT agent, status FROM runs WHERE run_id=?").get(runId)) as { agent: string; status: string } | undefined;
    if (existing) {
      throw new AgentError(
        `tape "${this.file}" already has a run "${runId}" (agent "${existing.agent}", ${existing.status}): ` +
          `continue it with resumeRun (forge-agent --tape … --resume ${runId}) or give the new run another id (--run-id)`,
        "tape",
      );
    }
    this.db
      .prepare("INSERT INTO runs (run_id, agent, inputs, status, started_at) VALUES (?,?,?,'running',?)")
      .run(runId, agent, this.storable(`run "${runId.slice(0, 200)}"`, "inputs", encodeValue(inputs)), Date.now());
  }

  /**
   * A value as stored, refused past MAX_TAPE_VALUE_CHARS (a read would refuse it, so a resumed
   * run could not read it back). `owner`: `run "id"` or `step "path"`, for the message.
   */
  private storable(owner: string, column: string, text: string): string {
    if (text.length > MAX_TAPE_VALUE_CHARS)
      throw new AgentError(
        `tape "${this.file}": ${owner} ${column} are ${text.length} characters as stored, over MAX_TAPE_VALUE_CHARS = ${MAX_TAPE_VALUE_CHARS}; the tape cannot keep them (write large results to a file and pass its path)`,
        "tape",
      );
    return text;
  }

  /** Mark a resumed run as running again (its earlier events stay). */
  reopenRun(runId: string): void {
    this.flush();
    this.db.prepare("UPDATE runs SET status='running', finished_at=NULL, error=NULL WHERE run_id=?").run(runId);
  }

  finishRun(runId: string, result: { outputs: Outputs } | { error: string }): void {
    const ok = "outputs" in result;
    this.flush();
    this.db
      .prepare("UPDATE runs SET status=?, outputs=?, error=?, finished_at=? WHERE run_id=?")
      .run(
        ok ? "succeeded" : "failed",
        ok ? this.storable(`run "${runId.slice(0, 200)}"`, "outputs", encodeValue(result.outputs)) : null,
        // An error message is cut to the bound rather than refused: the failure stays recorded.
        ok ? null : result.error.slice(0, MAX_TAPE_VALUE_CHARS),
        Date.now(),
        runId,
      );
  }

  /**
   * Refuses to read a run whose stored values pass MAX_TAPE_VALUE_CHARS, naming the row and
   * the column: their lengths are asked of SQLite first, so nothing oversized is loaded.
   */
  private checkSizes(runId: string, table: "runs" | "events"): void {
    const columns = { runs: ["inputs", "outputs", "error"], events: ["path", "inputs", "outputs", "error"] } as const;
    const lengths = columns[table].map((c) => `length(${c}) AS ${c}`).join(", ");
    const over = columns[table].map((c) => `length(${c}) > ${MAX_TAPE_VALUE_CHARS}`).join(" OR ");
    const row = this.reading(`read the sizes of run "${runId}"`, () =>
      this.db.prepare(`SELECT ${table === "events" ? "seq" : "NULL AS seq"}, ${lengths} FROM ${table} WHERE run_id=? AND (${over}) LIMIT 1`).get(runId),
    ) as (Record<string, number | null> & { seq: number | null }) | undefined;
    if (!row) return;
    const column = columns[table].find((c) => (row[c] ?? 0) > MAX_TAPE_VALUE_CHARS)!;
    const where = table === "runs" ? `run "${runId}" ${column}` : `run "${runId}" event ${row.seq} ${column}`;
    throw new AgentError(
      `tape "${this.file}": ${where} holds ${row[column]} characters, over MAX_TAPE_VALUE_CHARS = ${MAX_TAPE_VALUE_CHARS}; not read (the file is damaged or was written by something else)`,
      "tape",
    );
  }

  getRun(runId: string): RunRecord | undefined {
    this.flush();
    this.checkSizes(runId, "runs");
    const row = this.reading(`read run "${runId}"`, () => this.db.prepare("SELECT * FROM runs WHERE run_id=?").get(runId)) as
      | { run_id: string; agent: string; inputs: string; status: RunRecord["status"]; outputs: string | null; error: string | null; started_at: number; finished_at: number | null }
      | undefined;
    if (!row) return undefined;
    return {
      runId: row.run_id,
      agent: row.agent,
      inputs: this.decode(row.inputs, `run "${runId}" inputs`) as Inputs,
      status: row.status,
      outputs: row.outputs === null ? undefined : (this.decode(row.outputs, `run "${runId}" outputs`) as Outputs),
      error: row.error ?? undefined,
      startedAt: row.started_at,
      finishedAt: row.finished_at ?? undefined,
    };
  }

  runs(): RunRecord[] {
    const ids = this.reading("list its runs", () => this.db.prepare("SELECT run_id FROM runs ORDER BY started_at").all()) as Array<{ run_id: string }>;
    return ids.map((r) => this.getRun(r.run_id)!);
  }

  /**
   * Append an event. `commit: true` commits it — and everything buffered before it — before
   * returning (what side-effecting steps use); otherwise it may wait for the end of the turn.
   */
  record(e: TapeEvent, options?: { commit?: boolean }): void {
    const row: EventParams = [
      e.runId,
      e.path,
      e.kind,
      e.attempt ?? null,
      e.at ?? Date.now(),
      e.durationMs ?? null,
      e.inputs === undefined ? null : encodeValue(e.inputs),
      e.outputs === undefined ? null : encodeValue(e.outputs),
      e.error ?? null,
      e.status ?? null,
    ];
    // What a read would refuse is not written: a resumed run could not read it back.
    for (const [column, value] of [["path", row[1]], ["inputs", row[6]], ["outputs", row[7]], ["error", row[8]]] as const)
      if (value !== null) this.storable(`step "${e.path.slice(0, 200)}"`, column, value);
    if (this.durability === "event") {
      this.insertEvent.run(...row);
      return;
    }
    this.pending.push(row);
    if (options?.commit || this.pending.length >= GROUP_LIMIT) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  events(runId: string): TapeEvent[] {
    this.flush();
    this.checkSizes(runId, "events");
    const rows = this.reading(`read the events of run "${runId}"`, () => this.db.prepare("SELECT * FROM events WHERE run_id=? ORDER BY seq").all(runId)) as Array<EventRow & { seq: number }>;
    return rows.map((r) => ({
      runId: r.run_id,
      path: r.path,
      kind: r.kind,
      attempt: r.attempt ?? undefined,
      at: r.at,
      durationMs: r.duration_ms ?? undefined,
      inputs: r.inputs === null ? undefined : (this.decode(r.inputs, `run "${runId}" event ${r.seq} (step "${r.path}") inputs`) as Inputs),
      outputs: r.outputs === null ? undefined : (this.decode(r.outputs, `run "${runId}" event ${r.seq} (step "${r.path}") outputs`) as Outputs),
      error: r.error ?? undefined,
      status: r.status ?? undefined,
    }));
  }

  /** Settled steps of a run, by path (the last settling event wins). */
  outcomes(runId: string): Map<string, StepOutcome> {
    this.flush();
    this.checkSizes(runId, "events");
    const rows = this.reading(`read the settled steps of run "${runId}"`, () =>
      this.db.prepare("SELECT seq, path, outputs, error, status FROM events WHERE run_id=? AND status IS NOT NULL ORDER BY seq").all(runId),
    ) as Array<Pick<EventRow, "path" | "outputs" | "error" | "status"> & { seq: number }>;
    const map = new Map<string, StepOutcome>();
    for (const r of rows) {
      map.set(r.path, {
        status: r.status!,
        outputs: (this.decode(r.outputs, `run "${runId}" event ${r.seq} (step "${r.path}") outputs`) as Outputs | undefined) ?? {},
        error: r.error ?? undefined,
      });
    }
    return map;
  }

  /**
   * Steps an earlier process started and did not settle, by path: in doubt when the last event
   * is "started" (the process died while the step ran), else it ended in a failure or a retry.
   * ("queued", which a resumed run records again, does not count.)
   */
  unfinished(runId: string): Map<string, UnfinishedStep> {
    this.flush();
    this.checkSizes(runId, "events");
    const rows = this.reading(`read the unfinished steps of run "${runId}"`, () =>
      this.db
        .prepare(
          `SELECT e.path, e.kind, e.attempt, e.at FROM events e
         JOIN (SELECT path, MAX(seq) AS seq FROM events WHERE run_id=? AND kind != 'queued' GROUP BY path) last ON e.seq = last.seq
         WHERE e.status IS NULL AND e.kind IN ('started', 'failed', 'retried')`,
        )
        .all(runId),
    ) as Array<Pick<EventRow, "path" | "kind" | "attempt" | "at">>;
    return new Map(rows.map((r) => [r.path, { attempt: r.attempt ?? undefined, at: r.at, inDoubt: r.kind === "started" }]));
  }

  close(): void {
    this.flush();
    this.db.close();
  }
}
