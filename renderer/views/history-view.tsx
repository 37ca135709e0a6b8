/**
 * History: the jobs, searchable and filtered (jobs.list), and a job's detail: its state
 * timeline with the time spent in each state, events, artifacts, the error with its hint, and
 * re-run and export.
 */
import { useEffect, useState } from 'react';
import { JobState, OperationType, type WorkerEvent } from '../../shared/protocol';
import { ErrorBox } from '../components/error-box';
import { ExportButtons } from '../components/export-buttons';
import { StateBadge } from '../components/state-badge';
import { TableHead } from '../components/table-head';
import { useActions, useApp } from '../hooks';
import { formatBytes, formatDuration, formatProgress, formatRate, formatTime, operationLabel, stateLabel } from '../lib/format';
import { isTerminalState } from '../lib/jobs';

function HistoryRow({ id, selected }: { id: string; selected: boolean }) {
  const job = useApp((s) => s.jobs[id]);
  const actions = useActions();
  if (!job) return null;
  return (
    <tr className={selected ? 'selected' : undefined} aria-current={selected ? 'true' : undefined} data-testid={`history-${id}`}>
      <td>
        <button type="button" className="link-button" onClick={() => actions.navigate({ view: 'history', id })}>
          {job.title}
        </button>
        <div className="muted mono">{job.id}</div>
      </td>
      <td>{operationLabel(job.operation)}</td>
      <td>
        <StateBadge state={job.state} />
      </td>
      <td className="nowrap col-created">{formatTime(job.created_at)}</td>
    </tr>
  );
}

function eventText(e: WorkerEvent): string {
  switch (e.type) {
    case 'state':
      return `${e.from ? stateLabel(e.from) : '—'} → ${stateLabel(e.to)}: ${e.reason}`;
    case 'progress':
      return formatProgress(e) + (e.message ? `  ${e.message}` : '');
    case 'log':
      return `${e.source ? `${e.source}: ` : ''}${e.message}`;
  }
}

function JobDetailPanel({ id }: { id: string }) {
  const detail = useApp((s) => s.details[id]);
  const summary = useApp((s) => s.jobs[id]);
  const events = useApp((s) => s.detailEvents[id]);
  const actions = useActions();
  const [showProgress, setShowProgress] = useState(false);
  const state = summary?.state;

  useEffect(() => {
    void actions.openDetail(id);
    // Reload when the job moves on (its timeline grows).
  }, [id, state, actions]);

  if (!detail) return <p className="muted">Loading job {id}…</p>;
  const s = summary ?? detail.summary;
  const terminal = isTerminalState(s.state);
  const error = detail.result?.error ?? s.error;
  const max = Math.max(1, ...Object.values(detail.seconds_by_state));
  const shown = (events?.events ?? []).filter((e) => showProgress || e.type !== 'progress');
  const m = detail.result?.metrics;
  return (
    <article className="job-detail" aria-labelledby="detail-title" data-testid="job-detail">
      <header className="detail-head">
        <h2 id="detail-title">{s.title}</h2>
        <StateBadge state={s.state} />
      </header>
      <p className="job-meta">
        {operationLabel(s.operation)} · <code>{s.id}</code> · created {formatTime(s.created_at)} · priority {s.priority}
        {s.attempt > 1 ? ` · ${s.attempt} attempts` : ''}
        {Object.keys(s.labels).length ? ` · ${Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(', ')}` : ''}
      </p>
      <div className="job-actions">
        {terminal ? (
          <button type="button" onClick={() => void actions.rerunJob(id)}>
            Re-run
          </button>
        ) : (
          <button type="button" onClick={() => void actions.cancelJob(id)} disabled={s.cancel_requested}>
            {s.cancel_requested ? 'Cancelling…' : 'Cancel'}
          </button>
        )}
        {s.operation === 'inspect' && s.state === 'COMPLETED' ? (
          <button type="button" className="primary" onClick={() => actions.navigate({ view: 'report', id })}>
            Open report
          </button>
        ) : null}
        <ExportButtons id={id} />
      </div>

      {error && s.state !== 'COMPLETED' ? <ErrorBox error={error} alert={false} title={s.state === 'RETRY_WAIT' ? 'Last attempt failed.' : undefined} /> : null}

      <section aria-labelledby="timeline-title">
        <h3 id="timeline-title">Timeline</h3>
        <table className="table" data-testid="timeline">
          <TableHead columns={['State', 'Entered', 'Time spent', 'Reason']} />
          <tbody>
            {detail.spans.map((span, i) => (
              <tr key={i}>
                <td>{stateLabel(span.state)}</td>
                <td className="nowrap">{formatTime(span.entered_at)}</td>
                <td className="nowrap">{detail.terminal && i === detail.spans.length - 1 ? '' : formatDuration(span.seconds)}</td>
                <td>{detail.transitions[i]?.reason ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <h4>Time per state</h4>
        <ul className="state-bars">
          {Object.entries(detail.seconds_by_state)
            .filter(([st]) => !isTerminalState(st as JobState))
            .map(([st, sec]) => (
              <li key={st}>
                <span className="bar-label">{stateLabel(st)}</span>
                <span className="bar" aria-hidden="true">
                  <span className="bar-fill" style={{ width: `${Math.max(1, (sec / max) * 100)}%` }} />
                </span>
                <span className="bar-value">{formatDuration(sec)}</span>
              </li>
            ))}
        </ul>
      </section>

      {detail.result ? (
        <section aria-labelledby="result-title">
          <h3 id="result-title">Result</h3>
          {m ? (
            <p>
              {detail.result.outcome} at {formatTime(detail.result.finished_at)}; ran {formatDuration(m.run_s)}, {formatDuration(m.total_s)} in all
              {m.throughput_bps ? `; ${formatBytes(m.bytes_processed)} at ${formatRate(m.throughput_bps)}` : ''}.
            </p>
          ) : null}
          {detail.result.artifacts.length ? (
            <table className="table" data-testid="artifacts">
              <caption className="sr-only">Artifacts</caption>
              <TableHead columns={['File', 'Format', 'Size', 'Verification', <span className="sr-only">Actions</span>]} />
              <tbody>
                {detail.result.artifacts.map((a) => (
                  <tr key={a.path}>
                    <td>
                      <code className="break">{a.path}</code>
                      {a.sha256 ? <div className="muted mono break">sha256 {a.sha256}</div> : null}
                    </td>
                    <td>{a.format ?? a.role}</td>
                    <td className="nowrap">
                      {formatBytes(a.size_bytes)}
                      {a.virtual_size ? <div className="muted">virtual {formatBytes(a.virtual_size)}</div> : null}
                    </td>
                    <td>{a.verification && a.verification.method !== 'none' ? `${a.verification.method}: ${a.verification.ok ? 'identical' : 'MISMATCH'}` : '—'}</td>
                    <td className="nowrap">
                      <button type="button" className="small" onClick={() => void actions.copyText(a.path, 'Path')}>
                        Copy path
                      </button>
                      {actions.hasDesktop ? (
                        <button type="button" className="small" onClick={() => void actions.showInFolder(a.path)}>
                          Open folder
                        </button>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p className="muted">No files.</p>
          )}
        </section>
      ) : null}

      <section aria-labelledby="events-title">
        <h3 id="events-title">Events</h3>
        <div className="field checkbox">
          <input id="show-progress" type="checkbox" checked={showProgress} onChange={(e) => setShowProgress(e.target.checked)} />
          <label htmlFor="show-progress">Show progress events</label>
        </div>
        <ol className="event-list" data-testid="events">
          {shown.map((e) => (
            <li key={e.seq} className={`event-${e.type}${e.type === 'log' ? ` log-${e.level}` : ''}`}>
              <span className="muted nowrap">{formatTime(e.at)}</span> <span className="event-type">{e.type}</span> {eventText(e)}
            </li>
          ))}
        </ol>
        {events?.more ? (
          <button type="button" onClick={() => void actions.moreDetailEvents(id)}>
            Load more events
          </button>
        ) : null}
      </section>
    </article>
  );
}

export function HistoryView({ id }: { id: string | null }) {
  const history = useApp((s) => s.history);
  const actions = useActions();
  const setQuery = useApp((s) => s.setHistoryQuery);
  const q = history.query;
  return (
    <section className="view" aria-labelledby="view-title">
      <h1 id="view-title" tabIndex={-1}>
        History
      </h1>
      <form
        className="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          void actions.loadHistory();
        }}
      >
        <label htmlFor="h-search">Search</label>
        <input id="h-search" type="search" placeholder="id, disk name or label" value={q.search} onChange={(e) => setQuery({ search: e.target.value })} />
        <label htmlFor="h-state">State</label>
        <select
          id="h-state"
          value={q.state}
          onChange={(e) => {
            setQuery({ state: e.target.value as JobState | '' });
            void actions.loadHistory();
          }}
        >
          <option value="">any</option>
          {JobState.options.map((s) => (
            <option key={s} value={s}>
              {stateLabel(s)}
            </option>
          ))}
        </select>
        <label htmlFor="h-op">Operation</label>
        <select
          id="h-op"
          value={q.operation}
          onChange={(e) => {
            setQuery({ operation: e.target.value as OperationType | '' });
            void actions.loadHistory();
          }}
        >
          <option value="">any</option>
          {OperationType.options.map((o) => (
            <option key={o} value={o}>
              {operationLabel(o)}
            </option>
          ))}
        </select>
        <button type="submit">Search</button>
      </form>
      {history.error ? <ErrorBox error={history.error} /> : null}
      <div className={id ? 'split' : undefined}>
        <div className="history-list">
          <table className="table">
            <caption className="sr-only">Jobs, newest first</caption>
            <TableHead columns={['Job', 'Operation', 'State', { label: 'Created', className: 'col-created' }]} />
            <tbody>
              {history.ids.map((jid) => (
                <HistoryRow key={jid} id={jid} selected={jid === id} />
              ))}
            </tbody>
          </table>
          <p className="muted" data-testid="history-count">
            {history.loading ? 'Loading…' : `${history.ids.length} of ${history.total} shown`}
          </p>
          {history.nextBefore ? (
            <button type="button" onClick={() => void actions.loadHistory(true)}>
              Load more
            </button>
          ) : null}
        </div>
        {id ? <JobDetailPanel id={id} /> : null}
      </div>
    </section>
  );
}
