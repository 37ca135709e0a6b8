/**
 * This machine: what it can do, each capability with its status and how to get what is
 * missing, and the operations: those that cannot run here with the reason, those not in this
 * version named on one line.
 */
import { ErrorBox } from '../components/error-box';
import { TableHead } from '../components/table-head';
import { useActions, useApp } from '../hooks';
import { formatBytes, formatDuration, formatTime, operationLabel } from '../lib/format';

export function MachineView() {
  const caps = useApp((s) => s.caps);
  const status = useApp((s) => s.capsStatus);
  const error = useApp((s) => s.capsError);
  const info = useApp((s) => s.info);
  const actions = useActions();
  const busy = status === 'loading' || status === 'probing';
  return (
    <section className="view" aria-labelledby="view-title" aria-busy={busy}>
      <h1 id="view-title" tabIndex={-1}>
        This machine
      </h1>
      <div className="job-actions">
        <button type="button" onClick={() => void actions.loadCapabilities('probe')} disabled={busy}>
          Probe the appliance
        </button>
        <button type="button" onClick={() => void actions.loadCapabilities('refresh')} disabled={busy}>
          Re-run all probes
        </button>
        <span className="muted" role="status">
          {status === 'probing' ? 'Probing: starting a libguestfs appliance takes 20–60 s…' : status === 'loading' ? 'Checking…' : ''}
        </span>
      </div>
      {error ? <ErrorBox error={error} /> : null}
      {caps ? (
        <>
          <section aria-labelledby="host-title">
            <h2 id="host-title">Host</h2>
            <dl className="facts">
              <div>
                <dt>Host</dt>
                <dd>
                  {caps.host.hostname} · {caps.host.os} · {caps.host.arch} · kernel {caps.host.kernel}
                </dd>
              </div>
              <div>
                <dt>Runs as</dt>
                <dd>
                  {caps.execution_mode.mode.replace('_', ' ')}, uid {caps.privileges.uid}
                  {caps.privileges.root ? ' (root)' : caps.privileges.passwordless_sudo ? ' (sudo without password)' : ''}
                </dd>
              </div>
              <div>
                <dt>CPU and memory</dt>
                <dd>
                  {caps.resources.cpus} CPUs, {formatBytes(caps.resources.memory_available_bytes)} of {formatBytes(caps.resources.memory_total_bytes)} memory free
                </dd>
              </div>
              <div>
                <dt>Data folder</dt>
                <dd>
                  <code>{caps.resources.data_dir.path}</code> — {formatBytes(caps.resources.data_dir.free_bytes)} free
                </dd>
              </div>
              <div>
                <dt>Scratch folder</dt>
                <dd>
                  <code>{caps.resources.scratch_dir.path}</code> — {formatBytes(caps.resources.scratch_dir.free_bytes)} free
                </dd>
              </div>
              <div>
                <dt>Jobs run by</dt>
                <dd>{info?.runner ? `pid ${info.runner.pid} on ${info.runner.hostname}${info.runner.alive ? '' : ' (not running)'}` : 'no runner'}</dd>
              </div>
              <div>
                <dt>Checked</dt>
                <dd>
                  {formatTime(caps.detected_at)}
                  {caps.cache.hit ? `; slow probes from the cache of ${formatTime(caps.cache.probed_at)}` : ''}
                </dd>
              </div>
            </dl>
          </section>

          <section aria-labelledby="ops-title">
            <h2 id="ops-title">Operations</h2>
            <table className="table" data-testid="operations">
              <TableHead columns={['Operation', 'Status', 'Why not']} />
              <tbody>
                {caps.operations.filter((o) => o.implemented).map((o) => (
                  <tr key={o.operation} className={o.runnable ? undefined : 'disabled'} aria-disabled={o.runnable ? undefined : true}>
                    <td>{operationLabel(o.operation)}</td>
                    <td>
                      <span className={`badge ${o.runnable ? 'ok' : o.implemented ? 'warn' : 'off'}`}>
                        {o.runnable ? 'ready' : o.implemented ? 'cannot run here' : 'not in this version'}
                      </span>
                    </td>
                    <td>{o.reasons.join('; ') || (o.implemented ? '' : 'Comes in a later version.')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {caps.operations.some((o) => !o.implemented) ? (
              <p className="muted later-ops" data-testid="later-operations">
                Not in this version:{' '}
                {caps.operations
                  .filter((o) => !o.implemented)
                  .map((o) => operationLabel(o.operation))
                  .join(', ')}
                .
              </p>
            ) : null}
          </section>

          <section aria-labelledby="caps-title">
            <h2 id="caps-title">Capabilities</h2>
            <table className="table" data-testid="capabilities">
              <TableHead columns={['Capability', 'Status', 'Found', 'How to get it']} />
              <tbody>
                {caps.capabilities.map((c) => (
                  <tr key={c.key}>
                    <td>
                      <code>{c.key}</code>
                    </td>
                    <td>
                      <span className={`badge ${c.available ? 'ok' : 'warn'}`}>{c.available ? 'available' : 'missing'}</span>
                    </td>
                    <td>{c.detail}</td>
                    <td>{c.available ? '' : (c.hint ?? '')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>

          <section aria-labelledby="appliance-title">
            <h2 id="appliance-title">libguestfs appliance</h2>
            <p>
              {!caps.appliance.probed
                ? 'Not probed yet: the first guest inspection probes it, or use “Probe the appliance”.'
                : caps.appliance.usable
                  ? `Usable with ${caps.appliance.accelerator?.toUpperCase() ?? '?'}, starts in ${formatDuration(caps.appliance.start_seconds)}${caps.appliance.backend ? ` (backend ${caps.appliance.backend})` : ''}.`
                  : 'Not usable.'}
            </p>
            {caps.appliance.hint ? <p className="reason">{caps.appliance.hint}</p> : null}
            <p>
              KVM: {caps.kvm.device_accessible ? 'available' : caps.kvm.device_present ? '/dev/kvm exists but this user cannot open it' : 'no /dev/kvm'}
              {caps.kvm.hint ? ` — ${caps.kvm.hint}` : ''}
            </p>
          </section>

          <section aria-labelledby="tools-title">
            <h2 id="tools-title">Tools</h2>
            <table className="table" data-testid="tools">
              <TableHead columns={['Tool', 'Version', 'Path or how to get it']} />
              <tbody>
                {caps.tools.map((t) => (
                  <tr key={t.name}>
                    <td>
                      <code>{t.name}</code>
                    </td>
                    <td>{t.available ? (t.version ?? 'found') : <span className="badge warn">missing</span>}</td>
                    <td>{t.available ? <code>{t.path}</code> : (t.hint ?? '')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        </>
      ) : !error ? (
        <p className="muted">Checking what this machine can do…</p>
      ) : null}
    </section>
  );
}
