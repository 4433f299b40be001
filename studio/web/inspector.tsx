/**
 * The run inspector: a run export's streams (up to 1,024) in a virtualized list with their
 * branch paths, filtered by status, path and extraction text; one stream's zones as text with
 * forced (prompt) and generated text told apart, and its events; two runs compared by path.
 * With a tokens table, the zones are token spans (forced apart from generated, generated ones
 * coloured by logprob, jump hazard underlined), TOKEN_PAGE of them at a time (pages).
 */
import { memo, useEffect, useMemo, useRef, useState } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import { Api, type DecisionView, type FileEntry, type InspectedRun, type StreamDetail, type StreamSummary, type StreamTokens } from "./api.js";

const ROW = 30;
/** Tokens rendered at a time (a page): a stream may hold thousands, up to 100,000. */
export const TOKEN_PAGE = 1_500;
/** Decisions listed at most (the server sends up to 10,000). */
const DECISIONS_SHOWN = 300;

/** Background of a generated token by its probability: red (unlikely) through amber to green (certain). */
export function logprobColour(logprob: number): string {
  const p = Math.exp(Math.min(0, logprob));
  return `hsl(${Math.round(120 * p)} 60% 30%)`;
}

const fmt = (x: number | null) => (x === null ? "—" : x.toFixed(3));

/** The tooltip of one token: its id, logprobs and the top alternatives the run kept. */
function tokenTitle(t: StreamTokens, i: number): string {
  const lines = [`step ${t.step[i]} · token ${t.token[i]}${t.text ? ` ${JSON.stringify(t.text[i])}` : ""} · ${t.forced[i] ? "forced" : "generated"}`];
  const lp = t.logprob[i] ?? null;
  if (lp !== null) lines.push(`logprob ${fmt(lp)} (p ${Math.exp(lp).toFixed(3)}) · sampling logprob ${fmt(t.sampling[i] ?? null)}`);
  if (t.hazard[i] !== null && t.hazard[i] !== undefined) lines.push(`jump hazard ${fmt(t.hazard[i]!)}`);
  const top = t.top?.[i];
  if (top) lines.push("top: " + top.ids.map((id, k) => `${top.texts[k] !== null ? JSON.stringify(top.texts[k]) : `#${id}`} ${fmt(top.logprobs[k] ?? null)}`).join(", "));
  return lines.join("\n");
}

/** Tokens [from, to) of a stream as spans: forced apart from generated, logprob colour, hazard underline (memoized: hovering re-renders only the details box). */
const TokenSpans = memo(function TokenSpans(props: { tokens: StreamTokens; from: number; to: number }) {
  const t = props.tokens;
  const spans = [];
  for (let i = props.from; i < props.to; i++) {
    const lp = t.logprob[i] ?? null;
    const hz = t.hazard[i] ?? null;
    const style: Record<string, string> = {};
    if (!t.forced[i] && lp !== null) style.background = logprobColour(lp);
    if (hz !== null) style.boxShadow = `inset 0 -4px 0 rgba(255, 170, 60, ${(0.55 + 0.45 * Math.min(1, hz)).toFixed(2)})`;
    spans.push(
      <span key={i} className={`tok ${t.forced[i] ? "forced" : "generated"}${hz !== null ? " hazard" : ""}`} data-i={i} data-step={t.step[i]}
        data-logprob={lp ?? undefined} title={tokenTitle(t, i)} style={style}>
        {t.text ? t.text[i] : `⟨${t.token[i]}⟩`}
      </span>,
    );
  }
  return <>{spans}</>;
});

/** The hovered token's details, in a box that stays in view (the same lines as its tooltip). */
function TokenInfo(props: { tokens: StreamTokens; index: number | null }) {
  return (
    <div className="token-info mono" aria-label="Token details" role="status">
      {props.index === null ? <span className="muted">hover a token for its logprobs</span> : tokenTitle(props.tokens, props.index).split("\n").map((line, k) => <div key={k}>{line}</div>)}
    </div>
  );
}

/** The logprob colour scale, for the legend. */
function LogprobLegend() {
  return (
    <span className="lp-legend" aria-label="logprob colours">
      {[0.02, 0.1, 0.3, 0.6, 0.95].map((p) => <span key={p} className="lp-swatch" style={{ background: logprobColour(Math.log(p)) }}>p {p}</span>)}
    </span>
  );
}

function Decisions(props: { decisions: DecisionView[] }) {
  const shown = props.decisions.slice(0, DECISIONS_SHOWN);
  return (
    <>
      <div className="section-title">DECISIONS AT JUMP SITES ({props.decisions.length})</div>
      {props.decisions.length === 0 ? <div className="muted">none</div> : (
        <table className="ports decisions" aria-label="Decisions">
          <thead><tr><th>site</th><th>visit</th><th>step</th><th>pJump</th><th>pPath</th><th>outcome</th></tr></thead>
          <tbody>
            {shown.map((d, i) => (
              <tr key={i} className={d.taken ? "taken" : ""}>
                <td className="mono">{d.site}</td><td>{d.visit}</td><td>{d.step}</td><td>{d.pJump.toFixed(4)}</td><td>{d.pPath === null ? "—" : d.pPath.toFixed(4)}</td>
                <td><span className={`outcome ${d.outcome}`}>{d.outcome}</span>{d.taken ? " (taken)" : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {props.decisions.length > shown.length && <div className="muted">{props.decisions.length - shown.length} more not listed</div>}
    </>
  );
}

function hue(text: string): number {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) % 360;
  return h;
}

/** One row of the list; memoized so that scrolling renders only the rows that come into view. */
const StreamRow = memo(function StreamRow(props: { stream: StreamSummary; start: number; active: boolean; onSelect(stream: number): void }) {
  const s = props.stream;
  return (
    <div role="option" aria-selected={props.active} data-stream={s.stream}
      className={`stream-row ${props.active ? "active" : ""}`}
      style={{ position: "absolute", top: 0, left: 0, right: 0, height: ROW, transform: `translateY(${props.start}px)` }}
      onClick={() => props.onSelect(s.stream)}>
      <span className="mono stream-no">#{s.stream}</span>
      <span className={`badge ${s.status}`}>{s.status}</span>
      <PathChips pathId={s.pathId} />
      {s.jumps > 0 && <span className="event" title="jumps taken">{s.jumps} jump{s.jumps === 1 ? "" : "s"}</span>}
      <span className="muted preview">{s.preview}</span>
    </div>
  );
});

function PathChips(props: { pathId: string; onPick?(pathId: string): void }) {
  const chips = props.pathId.split(" > ").map((seq, i) => (
    <span key={i} className="chip" style={{ background: `hsl(${hue(seq)} 45% 32%)` }}>{seq}</span>
  ));
  // In the detail and the comparison, a path is a button: it filters the list to the streams that took it.
  return props.onPick ? (
    <button className="path-chips link" aria-label={`Show streams on path ${props.pathId}`} onClick={() => props.onPick!(props.pathId)}>{chips}</button>
  ) : (
    <span className="path-chips" aria-label={`path ${props.pathId}`}>{chips}</span>
  );
}

export function Inspector(props: { files: FileEntry[]; onError(e: unknown): void }) {
  const exports = props.files.filter((f) => /\.samples\.arrows?$/.test(f.path));
  const [path, setPath] = useState<string>("");
  const [run, setRun] = useState<InspectedRun | null>(null);
  const [otherPath, setOtherPath] = useState("");
  const [other, setOther] = useState<InspectedRun | null>(null);
  const [status, setStatus] = useState("");
  const [pathFilter, setPathFilter] = useState("");
  const [text, setText] = useState("");
  const [selected, setSelected] = useState<number | null>(null);
  const [detail, setDetail] = useState<StreamDetail | null>(null);

  const [job, setJob] = useState({ server: "http://127.0.0.1:8080", id: "", token: "" });
  useEffect(() => {
    if (!path || path.startsWith("job:")) return;
    setRun(null);
    setSelected(null);
    setDetail(null);
    Api.inspect(path).then(setRun, props.onError);
  }, [path, props.onError]);
  const openJob = async () => {
    try {
      const opened = await Api.job(job.server, job.id, job.token || undefined);
      setSelected(null);
      setDetail(null);
      setRun(opened);
      setPath(opened.file);
    } catch (e) {
      props.onError(e);
    }
  };
  useEffect(() => {
    if (!otherPath) return setOther(null);
    Api.inspect(otherPath).then(setOther, props.onError);
  }, [otherPath, props.onError]);
  useEffect(() => {
    if (selected === null || !path) return;
    Api.stream(path, selected).then(setDetail, props.onError);
  }, [selected, path, props.onError]);

  const statuses = useMemo(() => [...new Set(run?.streams.map((s) => s.status) ?? [])].sort(), [run]);
  const paths = useMemo(() => [...new Set(run?.streams.map((s) => s.pathId) ?? [])].sort(), [run]);
  const shown = useMemo(() => {
    const needle = text.toLowerCase();
    return (run?.streams ?? []).filter((s) => (!status || s.status === status) && (!pathFilter || s.pathId === pathFilter) && (!needle || s.preview.toLowerCase().includes(needle)));
  }, [run, status, pathFilter, text]);

  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({ count: shown.length, getScrollElement: () => scroller.current, estimateSize: () => ROW, overscan: 12 });

  return (
    <div className="inspector">
      <div className="inspector-bar">
        <label>
          Run export{" "}
          <select aria-label="Run export" value={path} onChange={(e) => setPath(e.target.value)}>
            <option value="">— choose —</option>
            {path.startsWith("job:") && <option value={path}>{path.slice(4)}</option>}
            {exports.map((f) => <option key={f.path} value={f.path}>{f.path}</option>)}
          </select>
        </label>
        <form className="inline" onSubmit={(e) => { e.preventDefault(); void openJob(); }} aria-label="Open a job on a Forge server">
          <input aria-label="Forge server URL" value={job.server} onChange={(e) => setJob({ ...job, server: e.target.value })} size={22} />
          <input aria-label="Job id" placeholder="job id" value={job.id} onChange={(e) => setJob({ ...job, id: e.target.value })} size={14} />
          <input aria-label="Forge server token" type="password" placeholder="token (if any)" value={job.token} onChange={(e) => setJob({ ...job, token: e.target.value })} size={10} />
          <button type="submit" disabled={!job.id}>Open job</button>
        </form>
        <label>
          Compare with{" "}
          <select aria-label="Compare with run export" value={otherPath} onChange={(e) => setOtherPath(e.target.value)}>
            <option value="">—</option>
            {exports.filter((f) => f.path !== path).map((f) => <option key={f.path} value={f.path}>{f.path}</option>)}
          </select>
        </label>
        <select aria-label="Filter by status" value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="">all statuses</option>
          {statuses.map((s) => <option key={s}>{s}</option>)}
        </select>
        <select aria-label="Filter by path" value={pathFilter} onChange={(e) => setPathFilter(e.target.value)}>
          <option value="">all paths</option>
          {paths.map((p) => <option key={p}>{p}</option>)}
        </select>
        <input type="search" aria-label="Filter by extraction text" placeholder="extraction text…" value={text} onChange={(e) => setText(e.target.value)} />
        {run && <span className="muted">{shown.length} / {run.streams.length} streams{run.truncated ? ` (${run.truncated} more left out)` : ""}</span>}
      </div>
      {!run ? (
        <div className="empty">{exports.length ? "Choose a run export (a datasets .samples.arrow file in the folder)." : "No run export (<run>.samples.arrow + .paths.arrow) in the studio's folder."}</div>
      ) : (
        <div className="inspector-body">
          <div className="stream-list" ref={scroller} role="listbox" aria-label="Streams" tabIndex={0}
            onKeyDown={(e) => {
              if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
              e.preventDefault();
              const at = shown.findIndex((s) => s.stream === selected);
              const next = shown[Math.max(0, Math.min(shown.length - 1, at + (e.key === "ArrowDown" ? 1 : -1)))];
              if (next) { setSelected(next.stream); virtual.scrollToIndex(shown.indexOf(next)); }
            }}>
            <div style={{ height: virtual.getTotalSize(), position: "relative" }}>
              {virtual.getVirtualItems().map((item) => {
                const s = shown[item.index]!;
                return <StreamRow key={s.stream} stream={s} start={item.start} active={selected === s.stream} onSelect={setSelected} />;
              })}
            </div>
          </div>
          <div className="stream-detail" aria-label="Stream detail" role="region">
            {other ? <Compare a={run} b={other} onPick={setPathFilter} /> : null}
            {detail ? <StreamView key={detail.stream} run={run} detail={detail} onPick={setPathFilter} /> : <PathSummary run={run} onPick={setPathFilter} />}
          </div>
        </div>
      )}
    </div>
  );
}

export function StreamView(props: { run: InspectedRun; detail: StreamDetail; onPick(pathId: string): void }) {
  const { run, detail } = props;
  // The page of tokens shown: [page·TOKEN_PAGE, (page+1)·TOKEN_PAGE) of the stream's tokens.
  const [page, setPage] = useState(0);
  const [hovered, setHovered] = useState<number | null>(null);
  const byName = new Map(detail.extractions.map((e) => [e.extraction, e]));
  const tokens = detail.tokenMarks;
  const first = tokens?.step[0] ?? 0;
  const total = tokens?.step.length ?? 0;
  const pages = Math.max(1, Math.ceil(total / TOKEN_PAGE));
  const windowStart = page * TOKEN_PAGE;
  const windowEnd = Math.min(total, windowStart + TOKEN_PAGE);
  const zones = detail.segmentsList.map((seg) => {
    const zone = run.zones[seg.zoneId];
    const head = (
      <div className="zone-head mono">
        {seg.sequence} · zone {seg.zoneId}{seg.repetition ? ` · repetition ${seg.repetition}` : ""} · tokens {seg.stepStart}–{seg.stepEnd}
        {seg.jumped && <span className="event"> ⤳ left by a jump</span>}
      </div>
    );
    if (tokens) {
      const from = Math.max(windowStart, seg.stepStart - first);
      const to = Math.min(windowEnd, seg.stepEnd - first);
      if (to <= from && !(seg.stepStart === seg.stepEnd && seg.stepStart - first >= windowStart && seg.stepStart - first < windowEnd)) return null;
      return (
        <div key={seg.segment} className="zone">
          {head}
          <TokenSpans tokens={tokens} from={from} to={Math.max(from, to)} />
        </div>
      );
    }
    const gen = zone?.capture ? byName.get(zone.capture) : undefined;
    return (
      <div key={seg.segment} className="zone">
        {head}
        <span className="forced">{zone?.text ?? "(zone text not in the export)"}</span>
        {gen ? <span className="generated">{gen.text}</span> : <span className="muted"> [{seg.stepEnd - seg.stepStart} tokens; generated text not extracted]</span>}
      </div>
    );
  });
  const decisions = detail.decisions ?? [];
  return (
    <div className="stream-view">
      <h2>Stream #{detail.stream} <span className={`badge ${detail.status}`}>{detail.status}</span></h2>
      <PathChips pathId={detail.pathId} onPick={props.onPick} />
      <p className="legend">
        <span className="forced">forced</span> prompt text the automaton fed · <span className="generated">generated</span> text the model wrote ·{" "}
        {!tokens ? "this export has no tokens table (zones shown as forced text and extractions)" : run.hasLogprobs ? <>generated tokens by probability <LogprobLegend /> · <span className="tok hazard" style={{ boxShadow: "inset 0 -4px 0 rgba(255, 170, 60, 1)" }}>underlined</span>: jump hazard · hover a token for its logprobs</> : "this run has no logprobs (run it with { logprobs: true })"}
        {tokens && !tokens.text && " · token ids only (the tokens table has no text column)"}
      </p>
      {tokens && <TokenInfo tokens={tokens} index={hovered} />}
      <div className="zones" aria-label="Zones as text"
        onMouseOver={(e) => {
          const i = (e.target as HTMLElement).closest?.(".tok[data-i]")?.getAttribute("data-i");
          if (i !== null && i !== undefined) setHovered(Number(i));
        }}>
        {zones}
        {pages > 1 && (
          <div className="token-pages" role="navigation" aria-label="Token pages">
            <button disabled={page === 0} onClick={() => setPage(page - 1)}>← previous {TOKEN_PAGE} tokens</button>
            <span className="muted"> tokens {windowStart}–{windowEnd} of {total} (page {page + 1} of {pages}) </span>
            <button disabled={page >= pages - 1} onClick={() => setPage(page + 1)}>next {Math.min(TOKEN_PAGE, total - windowEnd)} tokens →</button>
          </div>
        )}
        {tokens && tokens.truncated > 0 && <div className="muted">{tokens.truncated} tokens beyond the first {tokens.step.length} not sent</div>}
      </div>
      <div className="section-title">EVENTS</div>
      <ul className="events">
        {detail.segmentsList.filter((s) => s.jumped).map((s) => <li key={s.segment}>jump out of {s.sequence} at token {s.stepEnd}</li>)}
        {decisions.filter((d) => d.outcome === "forced_exit").map((d, i) => <li key={`f${i}`}>forced exit at {d.site} (visit {d.visit}, token {d.step})</li>)}
        {decisions.filter((d) => d.outcome === "ignored_jump").map((d, i) => <li key={`i${i}`}>jump ignored at {d.site} (visit {d.visit}, token {d.step})</li>)}
        {tokens && detail.segmentsList.filter((s) => run.zones[s.zoneId]?.capture).map((s) => <li key={`c${s.segment}`}>tool call: {s.sequence}'s text sent to {run.zones[s.zoneId]!.capture} at token {s.stepEnd}</li>)}
        {detail.segmentsList.filter((s) => run.zones[s.zoneId]?.feed).map((s) => <li key={`t${s.segment}`}>tool result: {run.zones[s.zoneId]!.feed}'s output fed at token {s.stepStart}</li>)}
        {detail.status !== "finished" && <li>stream ended: {detail.status}</li>}
        {detail.segmentsList.every((s) => !s.jumped) && detail.status === "finished" && <li className="muted">none</li>}
      </ul>
      {detail.decisions && <Decisions decisions={detail.decisions} />}
      <div className="section-title">EXTRACTIONS</div>
      <table className="ports">
        <tbody>
          {detail.extractions.map((e) => (
            <tr key={e.extraction}><td className="mono">{e.extraction}</td><td>{e.text}</td><td className="muted">{e.tokenCount ?? ""}</td></tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Compare(props: { a: InspectedRun; b: InspectedRun; onPick(pathId: string): void }) {
  const count = (r: InspectedRun) => {
    const m = new Map<string, number>();
    for (const s of r.streams) m.set(s.pathId, (m.get(s.pathId) ?? 0) + 1);
    return m;
  };
  const ca = count(props.a);
  const cb = count(props.b);
  const all = [...new Set([...ca.keys(), ...cb.keys()])].sort();
  return (
    <div className="compare" aria-label="Comparison of two runs">
      <div className="section-title">PATHS: {props.a.file} vs {props.b.file}</div>
      <table className="ports">
        <thead><tr><th>path</th><th>A</th><th>B</th></tr></thead>
        <tbody>
          {all.map((p) => (
            <tr key={p}><td><PathChips pathId={p} onPick={props.onPick} /></td><td>{((100 * (ca.get(p) ?? 0)) / props.a.streams.length).toFixed(1)}%</td><td>{((100 * (cb.get(p) ?? 0)) / props.b.streams.length).toFixed(1)}%</td></tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The run's branch paths with how many streams took each (a click filters the list to them). */
function PathSummary(props: { run: InspectedRun; onPick(pathId: string): void }) {
  const counts = new Map<string, number>();
  for (const s of props.run.streams) counts.set(s.pathId, (counts.get(s.pathId) ?? 0) + 1);
  const rows = [...counts].sort((a, b) => b[1] - a[1]);
  return (
    <div className="path-summary" aria-label="Branch paths">
      <div className="section-title">BRANCH PATHS ({rows.length}) — click a stream to read it</div>
      <table className="ports">
        <tbody>
          {rows.map(([p, n]) => (
            <tr key={p}>
              <td><PathChips pathId={p} onPick={props.onPick} /></td>
              <td>{n}</td>
              <td><span className="bar" style={{ width: `${(100 * n) / props.run.streams.length}%` }} /></td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
