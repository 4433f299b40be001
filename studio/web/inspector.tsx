/**
 * The run inspector: a run export's streams (up to 1,024) in a virtualized list with their
 * branch paths, filtered by status, path and extraction text; one stream's zones as text with
 * forced (prompt) and generated text told apart, and its events; two runs compared by path.
 */
import { memo, useEffect, useMemo, useRef, useState } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import { Api, type FileEntry, type InspectedRun, type StreamDetail, type StreamSummary } from "./api.js";

const ROW = 30;

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
            {detail ? <StreamView run={run} detail={detail} onPick={setPathFilter} /> : <PathSummary run={run} onPick={setPathFilter} />}
          </div>
        </div>
      )}
    </div>
  );
}

function StreamView(props: { run: InspectedRun; detail: StreamDetail; onPick(pathId: string): void }) {
  const { run, detail } = props;
  const byName = new Map(detail.extractions.map((e) => [e.extraction, e]));
  return (
    <div className="stream-view">
      <h2>Stream #{detail.stream} <span className={`badge ${detail.status}`}>{detail.status}</span></h2>
      <PathChips pathId={detail.pathId} onPick={props.onPick} />
      <p className="legend"><span className="forced">forced</span> prompt text the automaton fed · <span className="generated">generated</span> text the model wrote · {run.hasLogprobs ? "logprobs coloured" : "this export has no logprobs"}</p>
      <div className="zones" aria-label="Zones as text">
        {detail.segmentsList.map((seg) => {
          const zone = run.zones[seg.zoneId];
          const gen = zone?.capture ? byName.get(zone.capture) : undefined;
          return (
            <div key={seg.segment} className="zone">
              <div className="zone-head mono">
                {seg.sequence} · zone {seg.zoneId}{seg.repetition ? ` · repetition ${seg.repetition}` : ""} · tokens {seg.stepStart}–{seg.stepEnd}
                {seg.jumped && <span className="event"> ⤳ left by a jump</span>}
              </div>
              <span className="forced">{zone?.text ?? "(zone text not in the export)"}</span>
              {gen ? <span className="generated">{gen.text}</span> : <span className="muted"> [{seg.stepEnd - seg.stepStart} tokens; generated text not extracted]</span>}
            </div>
          );
        })}
      </div>
      <div className="section-title">EVENTS</div>
      <ul className="events">
        {detail.segmentsList.filter((s) => s.jumped).map((s) => <li key={s.segment}>jump out of {s.sequence} at token {s.stepEnd}</li>)}
        {detail.status !== "finished" && <li>stream ended: {detail.status}</li>}
        {detail.segmentsList.every((s) => !s.jumped) && detail.status === "finished" && <li className="muted">none</li>}
      </ul>
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
