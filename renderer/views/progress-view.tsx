/**
 * Progress: every active and waiting job with its stage, bar, rate, ETA, elapsed time and log
 * tail, and a cancel; below, the jobs that finished recently (a cancel in a neutral tone, a
 * failure in red with its hint, an inspection with its findings by severity). Each card selects only its own
 * job, so a busy stream re-renders only the cards it touches.
 */
import { Fragment, useEffect, useLayoutEffect, useRef } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { JobSummary } from '../../shared/protocol';
import { ErrorBox } from '../components/error-box';
import { StateBadge } from '../components/state-badge';
import { useNow } from '../components/use-now';
import { useActions, useApp } from '../hooks';
import { formatBytes, formatDuration, formatPercent, formatRate, formatTime, operationLabel } from '../lib/format';
import { isActiveState, isTerminalState, jobElapsed, jobEnding, progressOrder } from '../lib/jobs';
import { SEVERITIES, findingCounts, severityCount, type SeverityCounts } from '../lib/report';
import { jobCardId } from '../store/actions';
import type { AppState } from '../store/types';

const RECENT_MS = 30 * 60 * 1000;

const liveIds = (s: AppState): string[] =>
  Object.values(s.jobs)
    .filter((j) => !isTerminalState(j.state))
    .sort(progressOrder)
    .map((j) => j.id);

const recentIds = (s: AppState): string[] => {
  const since = new Date(Date.now() - RECENT_MS).toISOString();
  return Object.values(s.jobs)
    .filter((j) => isTerminalState(j.state) && j.updated_at >= since)
    .sort((a, b) => b.updated_at.localeCompare(a.updated_at))
    .slice(0, 10)
    .map((j) => j.id);
};

function waitingText(j: JobSummary): string {
  if (j.state === 'RETRY_WAIT') return `Waiting to retry${j.not_before ? ` at ${formatTime(j.not_before)}` : ''}.`;
  if (j.state === 'QUEUED') return `Queued with priority ${j.priority}.`;
  if (isActiveState(j.state)) return 'Starting…';
  return 'Being checked…';
}

/** An inspection's findings by severity, in a line: "1 blocker · 2 warnings · 0 info". */
function FindingCounts({ counts }: { counts: SeverityCounts }) {
  const total = counts.blocker + counts.warning + counts.info;
  return (
    <p className="finding-counts" data-testid="finding-counts">
      <span className="muted">Findings: </span>
      {total === 0
        ? 'none'
        : SEVERITIES.map((sev, i) => (
            <Fragment key={sev}>
              {i ? ' ' : null}
              <span className={`badge${counts[sev] ? ` sev-${sev}` : ''}`} data-severity={sev}>
                {severityCount(sev, counts[sev])}
              </span>
            </Fragment>
          ))}
    </p>
  );
}

/**
 * A card that had focus when its job moved between the lists (it ended: a new element in the
 * other list) takes focus back, so keyboard users are not dropped at the top of the page.
 */
let refocusCard: string | null = null;

function JobCard({ id }: { id: string }) {
  const job = useApp((s) => s.jobs[id]);
  const logs = useApp((s) => s.logs[id]);
  const since = useApp((s) => s.runningSince[id]);
  const detail = useApp((s) => s.details[id]);
  const focused = useApp((s) => s.focusJob === id);
  const actions = useActions();
  const active = job ? isActiveState(job.state) : false;
  const terminal = job ? isTerminalState(job.state) : false;
  const now = useNow(active);
  const ref = useRef<HTMLLIElement>(null);
  useEffect(() => {
    if (focused) ref.current?.scrollIntoView({ block: 'nearest' });
  }, [focused]);
  useLayoutEffect(() => {
    const el = ref.current;
    if (el && refocusCard === id) {
      refocusCard = null;
      el.focus();
    }
    return () => {
      // Runs before the element leaves the page, while it still holds focus.
      if (el?.contains(document.activeElement)) refocusCard = id;
    };
  }, [id, job === undefined]);
  // A finished card reads its run time and findings from the stored detail (so they survive a
  // reload): fetched once.
  useEffect(() => {
    if (terminal) actions.ensureDetail(id);
  }, [terminal, id, actions]);
  if (!job) return null;
  const p = job.last_progress;
  const titleId = `job-title-${id}`;
  const elapsed = jobElapsed({ job, runningSince: since, detail, now });
  const ending = jobEnding(job);
  const counts = job.operation === 'inspect' && job.state === 'COMPLETED' ? findingCounts(detail?.result?.payload) : null;
  return (
    <li
      ref={ref}
      id={jobCardId(id)}
      tabIndex={-1}
      className={`job-card${focused ? ' focused' : ''}`}
      data-testid={`job-${id}`}
      data-state={job.state}
      aria-labelledby={titleId}
    >
      <div className="job-head">
        <h3 id={titleId}>{job.title}</h3>
        <StateBadge state={job.state} />
      </div>
      <p className="job-meta">
        {operationLabel(job.operation)} · <code>{job.id}</code>
        {job.cancel_requested && !terminal ? ' · cancel requested' : ''}
      </p>
      {p && !(terminal && job.state !== 'COMPLETED') ? (
        <>
          <div className="job-progress">
            <progress max={100} value={p.percent} aria-labelledby={titleId} />
            <span className="percent" data-testid="percent">
              {formatPercent(p.percent)}
            </span>
          </div>
          <dl className="job-stats">
            <div>
              <dt>Stage</dt>
              <dd data-testid="stage">{p.stage}</dd>
            </div>
            <div>
              <dt title="The job's whole work in virtual bytes: the copy, then any verification and hashing (the line below gives the current disk's own)">Work done</dt>
              <dd>{p.bytes_total !== null ? `${formatBytes(p.bytes_done ?? 0)} of ${formatBytes(p.bytes_total)}` : '—'}</dd>
            </div>
            <div>
              <dt>Rate</dt>
              <dd data-testid="rate">{terminal ? '—' : formatRate(p.rate_bps)}</dd>
            </div>
            <div>
              <dt>ETA</dt>
              <dd data-testid="eta">{terminal ? '—' : formatDuration(p.eta_s)}</dd>
            </div>
            <div>
              <dt>Elapsed</dt>
              <dd data-testid="elapsed">{formatDuration(elapsed)}</dd>
            </div>
          </dl>
        </>
      ) : !terminal ? (
        <p className="muted">{waitingText(job)}</p>
      ) : null}
      {p?.message && !terminal ? <p className="muted">{p.message}</p> : null}
      {terminal && (!p || job.state !== 'COMPLETED') ? (
        <p className="muted" data-testid="elapsed">
          Ran for {formatDuration(elapsed)}
        </p>
      ) : null}
      {ending?.tone === 'error' && job.error ? (
        <ErrorBox error={job.error} alert={false} />
      ) : ending && ending.tone !== 'ok' ? (
        <div className={`ending ending-${ending.tone}`} data-testid="ending" data-tone={ending.tone}>
          <p className="ending-text">{ending.text}</p>
          {ending.hint ? <p className="ending-hint">{ending.hint}</p> : null}
        </div>
      ) : null}
      {counts ? <FindingCounts counts={counts} /> : null}
      {logs?.length ? (
        <details className="log-tail" open={!terminal}>
          <summary>Log ({logs.length} latest)</summary>
          <ol data-testid="log-tail">
            {logs.slice(-8).map((l) => (
              <li key={l.seq} className={`log-${l.level}`}>
                <span className="muted">{formatTime(l.at).slice(11)}</span> {l.source ? <span className="muted">{l.source}: </span> : null}
                {l.message}
              </li>
            ))}
          </ol>
        </details>
      ) : null}
      <div className="job-actions">
        {!terminal ? (
          <button type="button" onClick={() => void actions.cancelJob(id)} disabled={job.cancel_requested} aria-describedby={titleId}>
            {job.cancel_requested ? 'Cancelling…' : 'Cancel'}
          </button>
        ) : null}
        {job.operation === 'inspect' && job.state === 'COMPLETED' ? (
          <button type="button" className="primary" onClick={() => actions.navigate({ view: 'report', id })} aria-describedby={titleId}>
            Open report
          </button>
        ) : null}
        <button type="button" onClick={() => actions.navigate({ view: 'history', id })} aria-describedby={titleId}>
          Details
        </button>
      </div>
    </li>
  );
}

export function ProgressView() {
  const live = useApp(useShallow(liveIds));
  const recent = useApp(useShallow(recentIds));
  const loaded = useApp((s) => s.snapshotLoaded);
  return (
    <section className="view" aria-labelledby="view-title">
      <h1 id="view-title" tabIndex={-1}>
        Progress
      </h1>
      <section aria-labelledby="live-title">
        <h2 id="live-title">Active and queued ({live.length})</h2>
        {live.length ? (
          <ul className="job-cards">
            {live.map((id) => (
              <JobCard key={id} id={id} />
            ))}
          </ul>
        ) : (
          <p className="muted">{loaded ? 'No job is running or waiting.' : 'Loading…'}</p>
        )}
      </section>
      <section aria-labelledby="recent-title">
        <h2 id="recent-title">Finished in the last 30 minutes</h2>
        {recent.length ? (
          <ul className="job-cards">
            {recent.map((id) => (
              <JobCard key={id} id={id} />
            ))}
          </ul>
        ) : (
          <p className="muted">Nothing finished recently.</p>
        )}
      </section>
    </section>
  );
}
