/**
 * The Reports list (completed inspections, paged from the worker, "Load more" for older ones)
 * and the inspection report: a summary at the top (verdict, OS, counts, caveats), the findings
 * grouped by severity with their evidence, then the guest and image facts. Each operation remediation is turned into the job spec that carries it out on the
 * converted copy, in one click (disabled, with the reason, while that operation is not
 * available). Read defensively: the report's shape is still growing.
 */
import { useEffect, useState } from 'react';
import type { Finding } from '../../shared/protocol';
import { ErrorBox } from '../components/error-box';
import { ExportButtons } from '../components/export-buttons';
import { useActions, useApp } from '../hooks';
import { availability } from '../lib/availability';
import { formatBytes, formatTime, operationLabel } from '../lib/format';
import { fixSpec } from '../lib/remediation';
import { SEVERITY_LABELS, countsText, groupFindings, readReport, reportSummary, type Fact, type ReportView as Report } from '../lib/report';
import type { ConvertedOutputs } from '../store/actions';

function Facts({ facts }: { facts: Fact[] }) {
  return (
    <dl className="facts">
      {facts.map((f) => (
        <div key={f.key}>
          <dt>{f.label}</dt>
          <dd>{f.value}</dd>
        </div>
      ))}
    </dl>
  );
}

function FindingCard({ finding, inspectJob, converted }: { finding: Finding; inspectJob: string; converted: ConvertedOutputs | null }) {
  const caps = useApp((s) => s.caps);
  const actions = useActions();
  const r = finding.remediation;
  const idBase = `finding-${finding.id}`;
  const spec = converted ? fixSpec(finding, converted.outputs, inspectJob) : null;
  const avail = r.kind === 'operation' ? availability(caps, r.operation) : null;
  return (
    <li className={`finding severity-${finding.severity}`} data-testid={idBase} aria-labelledby={`${idBase}-title`}>
      <div className="finding-head">
        <h4 id={`${idBase}-title`}>{finding.title}</h4>
        <span className={`badge sev-${finding.severity}`}>{finding.severity}</span>
      </div>
      <p className="job-meta">
        <code>{finding.id}</code>
        {finding.disk ? (
          <>
            {' '}
            · <code>{finding.disk}</code>
          </>
        ) : null}
      </p>
      {finding.evidence.length ? (
        <>
          <h5>Evidence</h5>
          <ul className="evidence">
            {finding.evidence.map((e, i) => (
              <li key={i}>
                {e.file ? (
                  <code>
                    {e.file}
                    {e.line ? `:${e.line}` : ''}
                  </code>
                ) : null}{' '}
                <span className={e.kind === 'file' ? 'mono' : undefined}>{e.text}</span>
              </li>
            ))}
          </ul>
        </>
      ) : null}
      <h5>Remedy</h5>
      <p>{r.summary}</p>
      {r.kind === 'manual' ? (
        <ol className="steps">
          {r.steps.map((s, i) => (
            <li key={i}>{s}</li>
          ))}
        </ol>
      ) : (
        <div className="fix">
          <dl className="facts">
            <div>
              <dt>Operation</dt>
              <dd data-testid={`${idBase}-operation`}>{operationLabel(r.operation)}</dd>
            </div>
            <div>
              <dt>Applies to</dt>
              <dd data-testid={`${idBase}-target`}>
                the converted copy{converted ? (converted.convertJob ? ` (from job ${converted.convertJob})` : ' (planned: convert first)') : ''}:{' '}
                {converted?.outputs.map((o) => (
                  <code key={o} className="break">
                    {o}{' '}
                  </code>
                )) ?? '…'}
              </dd>
            </div>
          </dl>
          <div className="job-actions">
            <button
              type="button"
              className="primary"
              disabled={!avail?.enabled || !converted}
              aria-describedby={avail?.enabled ? undefined : `${idBase}-why`}
              onClick={() => converted && actions.prepareFix(finding, inspectJob, converted)}
            >
              Create fix job
            </button>
            {spec ? (
              <button type="button" onClick={() => void actions.copyText(JSON.stringify(spec, null, 2), 'Job spec')}>
                Copy job spec
              </button>
            ) : null}
          </div>
          {avail && !avail.enabled ? (
            <p className="reason" id={`${idBase}-why`}>
              {operationLabel(r.operation)} is unavailable: {avail.reason}
            </p>
          ) : null}
          {spec ? (
            <details>
              <summary>Job spec</summary>
              <pre className="code-block" data-testid={`${idBase}-spec`}>
                {JSON.stringify(spec, null, 2)}
              </pre>
            </details>
          ) : null}
        </div>
      )}
    </li>
  );
}

function InspectionList() {
  const list = useApp((s) => s.reports);
  const jobs = useApp((s) => s.jobs);
  const actions = useActions();
  useEffect(() => {
    void actions.loadReports();
  }, [actions]);
  if (!list.loaded) return list.error ? <ErrorBox error={list.error} /> : <p className="muted">Loading…</p>;
  if (!list.ids.length) return <p className="muted">No finished inspection yet. Inspect a disk from New job.</p>;
  return (
    <>
      <p className="muted" data-testid="reports-count" aria-live="polite">
        {list.ids.length} of {list.total} shown
      </p>
      <ul className="plain-list" data-testid="reports-list">
        {list.ids.map((id) => (
          <li key={id}>
            <button type="button" className="link-button" onClick={() => actions.navigate({ view: 'report', id })}>
              {jobs[id]?.title ?? id}
            </button>{' '}
            <span className="muted">
              {formatTime(jobs[id]?.updated_at)} · <code>{id}</code>
            </span>
          </li>
        ))}
      </ul>
      {list.error ? <ErrorBox error={list.error} /> : null}
      {list.nextBefore ? (
        <div className="reports-more">
          <button type="button" onClick={() => void actions.loadReports(true)} disabled={list.loading}>
            {list.loading ? 'Loading…' : 'Load more'}
          </button>
        </div>
      ) : null}
    </>
  );
}

/** The top of a report: what it means for the move to KVM, the OS, the counts and what is not covered. */
function Summary({ report }: { report: Report }) {
  const sum = reportSummary(report);
  return (
    <section className={`report-summary tone-${sum.verdict.tone}`} aria-labelledby="summary-title" data-testid="report-summary">
      <h2 id="summary-title">Summary</h2>
      <p className="verdict" data-testid="verdict">
        {sum.verdict.text}
      </p>
      <dl className="facts">
        <div>
          <dt>Operating system</dt>
          <dd data-testid="summary-os">{sum.os}</dd>
        </div>
        <div>
          <dt>Findings</dt>
          <dd data-testid="summary-counts">
            {countsText(sum.counts)}
          </dd>
        </div>
        <div>
          <dt>Disks</dt>
          <dd>{report.disks.length}</dd>
        </div>
      </dl>
      {sum.caveats.length ? (
        <ul className="caveats" data-testid="summary-caveats">
          {sum.caveats.map((c) => (
            <li key={c}>{c}</li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}

export function ReportView({ id }: { id: string | null }) {
  const detail = useApp((s) => (id ? s.details[id] : undefined));
  const actions = useActions();
  const [converted, setConverted] = useState<ConvertedOutputs | null>(null);
  const report = detail ? readReport(detail.result?.payload) : null;
  const sources = detail?.spec?.operation === 'inspect' ? detail.spec.params.disks : (report?.disks.map((d) => d.path) ?? []);
  const sourcesKey = sources.join('\n');

  useEffect(() => {
    if (id) void actions.openDetail(id);
  }, [id, actions]);

  useEffect(() => {
    setConverted(null);
    if (!sourcesKey) return;
    let gone = false;
    void actions.convertedOutputs(sourcesKey.split('\n')).then((c) => !gone && setConverted(c));
    return () => {
      gone = true;
    };
  }, [sourcesKey, actions]);

  if (!id) {
    return (
      <section className="view" aria-labelledby="view-title">
        <h1 id="view-title" tabIndex={-1}>
          Inspection reports
        </h1>
        <InspectionList />
      </section>
    );
  }
  if (!detail) {
    return (
      <section className="view" aria-labelledby="view-title">
        <h1 id="view-title" tabIndex={-1}>
          Inspection report
        </h1>
        <p className="muted">Loading job {id}…</p>
      </section>
    );
  }
  const s = detail.summary;
  const groups = report ? groupFindings(report.findings) : [];
  return (
    <section className="view report" aria-labelledby="view-title" data-testid="report">
      <h1 id="view-title" tabIndex={-1}>
        Inspection report
      </h1>
      <p className="job-meta">
        {s.title} · <code>{s.id}</code> · {s.state === 'COMPLETED' ? `finished ${formatTime(detail.result?.finished_at)}` : s.state.toLowerCase()}
      </p>
      {s.operation !== 'inspect' ? <p className="reason">Job {s.id} is a {operationLabel(s.operation)} job, not an inspection.</p> : null}
      {s.state !== 'COMPLETED' && (detail.result?.error ?? s.error) ? <ErrorBox error={(detail.result?.error ?? s.error)!} /> : null}
      {s.operation === 'inspect' && !detail.terminal ? <p className="muted">The inspection is still running; see Progress.</p> : null}
      <div className="job-actions">
        {s.operation === 'inspect' && s.state === 'COMPLETED' ? (
          <button type="button" className="primary" onClick={() => actions.convertInspected(detail)}>
            Convert these disks…
          </button>
        ) : null}
        <ExportButtons id={s.id} />
      </div>
      {report ? (
        <>
          <Summary report={report} />
          <section aria-labelledby="findings-title">
            <h2 id="findings-title">
              Findings ({report.findings.length}
              {groups.length ? `: ${groups.map((g) => `${g.findings.length} ${g.severity}`).join(', ')}` : ''})
            </h2>
            {report.unreadable ? <p className="reason">{report.unreadable} finding(s) could not be read by this version of the app.</p> : null}
            {groups.length === 0 ? <p className="muted">No findings: nothing is expected to break on KVM.</p> : null}
            {groups.map((g) => (
              <section key={g.severity} aria-labelledby={`sev-${g.severity}`}>
                <h3 id={`sev-${g.severity}`}>
                  {SEVERITY_LABELS[g.severity]} ({g.findings.length})
                </h3>
                <ul className="findings">
                  {g.findings.map((f) => (
                    <FindingCard key={`${f.id}|${f.disk ?? ''}|${f.root ?? ''}`} finding={f} inspectJob={s.id} converted={converted} />
                  ))}
                </ul>
              </section>
            ))}
          </section>
          <section aria-labelledby="guest-title">
            <h2 id="guest-title">Guest</h2>
            {!report.guest ? (
              <p className="muted">The report has no guest facts.</p>
            ) : (
              <div data-testid="guest-facts">
                {report.guest.status && report.guest.status !== 'inspected' ? (
                  <p className="reason">
                    The guest was not inspected ({report.guest.status}){report.guest.reason ? `: ${report.guest.reason}` : '.'}
                  </p>
                ) : null}
                {report.guest.sections.map((sec) => (
                  <div key={sec.title}>
                    <h3>{sec.title}</h3>
                    <Facts facts={sec.facts} />
                  </div>
                ))}
                {report.guest.notes.length ? (
                  <ul className="notes">
                    {report.guest.notes.map((n, i) => (
                      <li key={i}>{n}</li>
                    ))}
                  </ul>
                ) : null}
              </div>
            )}
          </section>
          <section aria-labelledby="disks-title">
            <h2 id="disks-title">Disks</h2>
            {report.disks.map((d) => (
              <div key={d.path} className="disk-facts">
                <h3>
                  <code className="break">{d.path}</code>
                </h3>
                {d.error ? <p className="reason">{d.error}</p> : null}
                <Facts facts={d.facts} />
                {d.required.qcow2 !== null || d.required.raw !== null ? (
                  <p className="muted">
                    A converted copy needs {d.required.qcow2 !== null ? `${formatBytes(d.required.qcow2)} as qcow2` : ''}
                    {d.required.qcow2 !== null && d.required.raw !== null ? ', ' : ''}
                    {d.required.raw !== null ? `${formatBytes(d.required.raw)} as raw` : ''}.
                  </p>
                ) : null}
                {d.notes.length ? (
                  <ul className="notes">
                    {d.notes.map((n, i) => (
                      <li key={i}>{n}</li>
                    ))}
                  </ul>
                ) : null}
              </div>
            ))}
            {report.destination?.length ? (
              <>
                <h3>Destination</h3>
                <Facts facts={report.destination} />
              </>
            ) : null}
          </section>
        </>
      ) : s.state === 'COMPLETED' ? (
        <p className="reason">This job's result holds no inspection report.</p>
      ) : null}
    </section>
  );
}
