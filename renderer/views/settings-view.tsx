/**
 * Settings of the data folder: the folders (shown, fixed for the process's life), how many
 * jobs run at once, and the defaults the job builder proposes for convert.
 */
import { useEffect, useState } from 'react';
import { SettingsPatch } from '../../shared/contract';
import type { ImageFormat } from '../../shared/protocol';
import { fieldErrors } from '../../shared/validation';
import { ErrorBox } from '../components/error-box';
import { Field } from '../components/field';
import { useActions, useApp } from '../hooks';
import type { VerifyMode } from '../lib/builder';
import { formatTime } from '../lib/format';

export function SettingsView() {
  const settings = useApp((s) => s.settings);
  const status = useApp((s) => s.settingsStatus);
  const error = useApp((s) => s.settingsError);
  const actions = useActions();
  const [concurrency, setConcurrency] = useState('1');
  const [format, setFormat] = useState<ImageFormat>('qcow2');
  const [verify, setVerify] = useState<VerifyMode>('none');

  useEffect(() => {
    if (!settings) return;
    setConcurrency(String(settings.concurrency));
    setFormat(settings.default_format);
    setVerify(settings.default_verify);
  }, [settings]);

  const patch = { concurrency: concurrency.trim() === '' ? Number.NaN : Number(concurrency), default_format: format, default_verify: verify };
  const parsed = SettingsPatch.safeParse(patch);
  const errors = parsed.success ? [] : fieldErrors(parsed.error);
  const errorsOf = (path: string) => errors.filter((e) => e.path === path).map((e) => e.message);

  return (
    <section className="view" aria-labelledby="view-title">
      <h1 id="view-title" tabIndex={-1}>
        Settings
      </h1>
      {error ? <ErrorBox error={error} /> : null}
      {!settings ? (
        <p className="muted">{status === 'error' ? 'The settings could not be loaded.' : 'Loading…'}</p>
      ) : (
        <form
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            if (parsed.success) void actions.saveSettings(parsed.data);
          }}
        >
          <fieldset>
            <legend>Folders</legend>
            <Field id="set-data" label="Data folder" hint="Holds the job history (h2k.sqlite). Set with --data-dir or H2K_DATA_DIR when starting.">
              {(c) => <input {...c} type="text" readOnly value={settings.data_dir} className="grow" />}
            </Field>
            <Field id="set-scratch" label="Scratch folder" hint="Temporary files of running jobs. Set with H2K_SCRATCH_DIR when starting.">
              {(c) => <input {...c} type="text" readOnly value={settings.scratch_dir} className="grow" />}
            </Field>
          </fieldset>
          <fieldset>
            <legend>Jobs</legend>
            <Field
              id="set-concurrency"
              label="Jobs run at once (1–8)"
              hint={`Applies at once to the runner of this data folder${settings.runner_concurrency ? `, which now runs ${settings.runner_concurrency} at once` : ''} (unless it was started with --concurrency).`}
              errors={errorsOf('concurrency')}
            >
              {(c) => <input {...c} type="number" min={1} max={8} step={1} value={concurrency} onChange={(e) => setConcurrency(e.target.value)} />}
            </Field>
          </fieldset>
          <fieldset>
            <legend>Convert defaults</legend>
            <Field id="set-format" label="Default output format">
              {(c) => (
                <select {...c} value={format} onChange={(e) => setFormat(e.target.value as ImageFormat)}>
                  <option value="qcow2">qcow2</option>
                  <option value="raw">raw</option>
                  <option value="vmdk">vmdk</option>
                  <option value="vpc">vhd (vpc)</option>
                  <option value="vhdx">vhdx</option>
                  <option value="vdi">vdi</option>
                </select>
              )}
            </Field>
            <Field id="set-verify" label="Default verification">
              {(c) => (
                <select {...c} value={verify} onChange={(e) => setVerify(e.target.value as VerifyMode)}>
                  <option value="none">none</option>
                  <option value="compare">compare with the source</option>
                  <option value="checksum">checksum of the guest data</option>
                </select>
              )}
            </Field>
          </fieldset>
          <div className="form-actions">
            <button type="submit" className="primary" disabled={!parsed.success || status === 'saving'}>
              {status === 'saving' ? 'Saving…' : 'Save settings'}
            </button>
            {settings.updated_at ? <span className="muted">Last changed {formatTime(settings.updated_at)}</span> : null}
          </div>
        </form>
      )}
    </section>
  );
}
