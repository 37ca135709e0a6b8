/**
 * The job builder: disks, operation, options, destination, priority. The draft is parsed with
 * the shared JobSpec schema on every change; a field's errors are shown next to it once it was
 * changed or left, and all of them once a submit was tried (focus then goes to the first).
 * Operations this machine cannot run are offered disabled, with the reason; those not in this
 * version are named on one line.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { OperationType, type ImageFormat } from '../../shared/protocol';
import { ErrorBox } from '../components/error-box';
import { Field, FieldErrors } from '../components/field';
import { FilePicker } from '../components/file-picker';
import { useActions, useApp } from '../hooks';
import { availability } from '../lib/availability';
import { checkDraft, firstErrorField, outputPathFor, visibleErrors, type BuilderDraft, type BuilderField } from '../lib/builder';
import { formatBytes, operationLabel } from '../lib/format';

const DESCRIPTIONS: Record<string, string> = {
  inspect: 'Image facts, guest OS and what will break on KVM. Reads the disks, changes nothing.',
  convert: 'Copy the disks into a KVM format, with progress, an atomic output and optional verification.',
  offline_fix: 'Fix fstab/crypttab device names, remove hypervisor tools, unpin network MACs in the converted copy.',
  boot_repair: 'Point the boot loader at UUIDs and regenerate its configuration in the converted copy.',
  selinux_prep: 'Relabel SELinux contexts of the converted copy on first boot.',
  lvm_repair: 'Reset LVM device files and filters that pin the old disks.',
  fs_repair: 'Check and repair the converted copy\'s file systems.',
  initramfs_regen: 'Rebuild the initramfs with virtio drivers so the guest boots on KVM.',
};

const FORMATS: { value: ImageFormat; label: string }[] = [
  { value: 'qcow2', label: 'qcow2 (KVM default)' },
  { value: 'raw', label: 'raw' },
  { value: 'vmdk', label: 'vmdk' },
  { value: 'vpc', label: 'vhd (vpc)' },
  { value: 'vhdx', label: 'vhdx' },
  { value: 'vdi', label: 'vdi' },
];

/** The element that takes focus for a field in error (its control, or its group's first control). */
const FOCUS_OF: Record<BuilderField, string> = {
  disks: 'disk-path',
  operation: 'op-inspect',
  options: 'options-group', // the group: its first control takes focus
  rate: 'opt-rate',
  dest: 'dest',
  priority: 'priority',
  form: 'submit-button',
};

export function BuilderView() {
  const draft = useApp((s) => s.draft);
  const caps = useApp((s) => s.caps);
  const origin = useApp((s) => s.origin);
  const support = useApp((s) => s.support);
  const submitting = useApp((s) => s.submitting);
  const submitError = useApp((s) => s.submitError);
  const destSpace = useApp((s) => s.destSpace);
  const touched = useApp((s) => s.touched);
  const attempted = useApp((s) => s.attempted);
  const actions = useActions();
  const check = useMemo(() => checkDraft(draft), [draft]);
  // Errors show once their field was changed or left, or after a submit was tried.
  const errors = useMemo(() => visibleErrors(check.errors, touched, attempted), [check.errors, touched, attempted]);
  const touch = (field: BuilderField) => () => actions.touchField(field);
  const [picker, setPicker] = useState<null | 'files' | 'folder'>(null);
  const [typed, setTyped] = useState('');
  const disksButton = useRef<HTMLButtonElement>(null);
  const folderButton = useRef<HTMLButtonElement>(null);
  const set = (patch: Partial<BuilderDraft>) => actions.setDraft(patch);
  const specKey = JSON.stringify(check.submitted);
  const currentSupport = support && support.key === specKey ? support : null;
  const opAvail = availability(caps, draft.operation);
  // Operations not in this version (or not known yet) are named on one line, not offered one by one.
  const offered = OperationType.options.filter((op) => availability(caps, op).implemented || op === draft.operation);
  const later = OperationType.options.filter((op) => !offered.includes(op));
  const formRef = useRef<HTMLFormElement>(null);
  /** After a refused submit: focus the first field in error, in form order. */
  const focusFirstError = () => {
    const field = firstErrorField(check.errors);
    if (!field) return;
    const target = field === 'operation' ? `op-${draft.operation}` : FOCUS_OF[field];
    const el = document.getElementById(target);
    const control = el?.matches('fieldset') ? el.querySelector<HTMLElement>('input, select, textarea, button') : el;
    control?.focus();
  };

  const chooseDisks = async () => {
    if (!(await actions.pickDisksNatively())) setPicker('files');
  };
  const chooseFolder = async () => {
    if (!(await actions.pickFolderNatively())) setPicker('folder');
  };
  const addTyped = () => {
    const p = typed.trim();
    if (!p) return;
    actions.addDisks([p]);
    setTyped('');
  };
  // Focus goes back to the button that opened the picker once the dialog has left the page
  // (while the modal dialog is open, the rest of the page is inert and cannot take focus).
  const opener = useRef<HTMLButtonElement | null>(null);
  useEffect(() => {
    if (picker === null && opener.current) {
      opener.current.focus();
      opener.current = null;
    }
  }, [picker]);
  const closePicker = () => {
    opener.current = (picker === 'files' ? disksButton : folderButton).current;
    setPicker(null);
  };

  const submitLabel = draft.operation === 'inspect' ? 'Inspect' : draft.operation === 'convert' ? 'Convert' : `Submit ${operationLabel(draft.operation).toLowerCase()}`;

  return (
    <section className="view builder" aria-labelledby="view-title">
      <h1 id="view-title" tabIndex={-1}>
        New job
      </h1>
      {origin ? (
        <p className="note" data-testid="builder-origin">
          Prepared from the finding “{origin.title}” (<code>{origin.finding}</code>) of inspection <code>{origin.inspectJob}</code>. It applies to
          the converted copy, never the source.
          {origin.planned ? ' The converted copy does not exist yet: convert the disks first.' : ''}
        </p>
      ) : (
        <p className="lead">Inspect first: it tells you what the conversion needs and what will break on KVM.</p>
      )}
      <form
        noValidate
        ref={formRef}
        onSubmit={(e) => {
          e.preventDefault();
          if (!check.spec) {
            void actions.submitDraft().then(focusFirstError);
            return;
          }
          void actions.submitDraft();
        }}
      >
        <fieldset aria-describedby={errors.disks ? 'disks-errors' : undefined}>
          <legend>Disks</legend>
          {draft.disks.length ? (
            <ul className="disk-list" aria-label="Chosen disks">
              {draft.disks.map((d) => (
                <li key={d}>
                  <code>{d}</code>
                  <button type="button" className="link-button" onClick={() => actions.removeDisk(d)} aria-label={`Remove ${d}`}>
                    Remove
                  </button>
                </li>
              ))}
            </ul>
          ) : (
            <p className="muted">No disk chosen yet.</p>
          )}
          <div className="row">
            <button type="button" ref={disksButton} onClick={() => void chooseDisks()}>
              Choose disks…
            </button>
            <label htmlFor="disk-path" className="inline-label">
              or a path
            </label>
            <input
              id="disk-path"
              className="grow"
              type="text"
              spellCheck={false}
              placeholder="/srv/vms/web01/web01.vmdk"
              value={typed}
              onChange={(e) => setTyped(e.target.value)}
              onBlur={touch('disks')}
              onKeyDown={(e) => {
                if (e.key === 'Enter') {
                  e.preventDefault();
                  addTyped();
                }
              }}
            />
            <button type="button" onClick={addTyped} disabled={!typed.trim()}>
              Add path
            </button>
          </div>
          <FieldErrors id="disks-errors" errors={errors.disks} />
        </fieldset>

        <fieldset>
          <legend>Operation</legend>
          <div className="operation-list">
            {offered.map((op) => {
              const a = availability(caps, op);
              const id = `op-${op}`;
              return (
                <div key={op} className={`operation${a.enabled ? '' : ' disabled'}`}>
                  <input
                    type="radio"
                    name="operation"
                    id={id}
                    value={op}
                    checked={draft.operation === op}
                    disabled={!a.enabled && draft.operation !== op}
                    aria-describedby={`${id}-desc`}
                    onChange={() => set({ operation: op })}
                    onBlur={touch('operation')}
                  />
                  <label htmlFor={id}>{operationLabel(op)}</label>
                  <p id={`${id}-desc`} className="operation-desc">
                    {DESCRIPTIONS[op]}
                    {a.reason ? <span className="reason"> Unavailable: {a.reason}</span> : null}
                  </p>
                </div>
              );
            })}
          </div>
          {later.length ? (
            <p className="muted later-ops" data-testid="later-operations">
              {caps ? 'Not in this version: ' : 'Checking what this machine can do: '}
              {later.map((op) => operationLabel(op)).join(', ')}.
            </p>
          ) : null}
          <FieldErrors id="operation-errors" errors={errors.operation} />
        </fieldset>

        <fieldset id="options-group" aria-describedby={errors.options ? 'options-errors' : undefined}>
          <legend>Options</legend>
          {draft.operation === 'inspect' ? (
            <div className="grid-2">
              <div className="field checkbox">
                <input id="opt-guest" type="checkbox" checked={draft.guest} onChange={(e) => set({ guest: e.target.checked })} />
                <label htmlFor="opt-guest">Inspect the guest OS (libguestfs appliance; about a minute without KVM)</label>
              </div>
              <Field id="opt-bus" label="Disk bus on KVM">
                {(c) => (
                  <select {...c} value={draft.diskBus} onChange={(e) => set({ diskBus: e.target.value as BuilderDraft['diskBus'] })}>
                    <option value="virtio-blk">virtio-blk</option>
                    <option value="virtio-scsi">virtio-scsi</option>
                    <option value="sata">SATA</option>
                  </select>
                )}
              </Field>
              <Field id="opt-firmware" label="Firmware on KVM">
                {(c) => (
                  <select {...c} value={draft.firmware} onChange={(e) => set({ firmware: e.target.value as BuilderDraft['firmware'] })}>
                    <option value="bios">BIOS</option>
                    <option value="uefi">UEFI (OVMF)</option>
                  </select>
                )}
              </Field>
            </div>
          ) : draft.operation === 'convert' ? (
            <div className="grid-2">
              <Field id="opt-format" label="Output format">
                {(c) => (
                  <select {...c} value={draft.format} onChange={(e) => set({ format: e.target.value as ImageFormat })}>
                    {FORMATS.map((f) => (
                      <option key={f.value} value={f.value}>
                        {f.label}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
              {draft.format === 'qcow2' ? (
                <Field id="opt-compression" label="qcow2 compression">
                  {(c) => (
                    <select {...c} value={draft.compression} onChange={(e) => set({ compression: e.target.value as BuilderDraft['compression'] })}>
                      <option value="none">none (fastest)</option>
                      <option value="zlib">zlib</option>
                      <option value="zstd">zstd</option>
                    </select>
                  )}
                </Field>
              ) : null}
              <Field id="opt-verify" label="Verification">
                {(c) => (
                  <select {...c} value={draft.verify} onChange={(e) => set({ verify: e.target.value as BuilderDraft['verify'] })}>
                    <option value="none">none</option>
                    <option value="compare">compare with the source (qemu-img compare)</option>
                    <option value="checksum">checksum of the guest data</option>
                  </select>
                )}
              </Field>
              <Field id="opt-rate" label="Rate limit (MiB/s)" hint="Empty for no limit." errors={errors.rate}>
                {(c) => <input {...c} type="text" inputMode="decimal" value={draft.rateLimitMiBps} onChange={(e) => set({ rateLimitMiBps: e.target.value })} onBlur={touch('rate')} />}
              </Field>
              <div className="field checkbox">
                <input id="opt-overwrite" type="checkbox" checked={draft.overwrite} onChange={(e) => set({ overwrite: e.target.checked })} />
                <label htmlFor="opt-overwrite">Overwrite an existing output file</label>
              </div>
              <div className="field checkbox">
                <input id="opt-sha256" type="checkbox" checked={draft.sha256} onChange={(e) => set({ sha256: e.target.checked })} />
                <label htmlFor="opt-sha256">Record the SHA-256 of each output</label>
              </div>
            </div>
          ) : (
            <div>
              <p className="muted">Parameters from the finding (applied to the disks above: the converted copy):</p>
              <pre className="code-block">{JSON.stringify(draft.repairParams ?? {}, null, 2)}</pre>
            </div>
          )}
          <FieldErrors id="options-errors" errors={errors.options} />
        </fieldset>

        {draft.operation === 'inspect' || draft.operation === 'convert' ? (
          <fieldset>
            <legend>Destination</legend>
            <div className="row">
              <Field
                id="dest"
                label={draft.operation === 'convert' ? 'Destination folder' : 'Destination folder (optional)'}
                hint={draft.operation === 'convert' ? 'The converted disks are written here.' : 'Where the converted copy will go, to check its free space.'}
                errors={errors.dest}
              >
                {(c) => (
                  <input
                    {...c}
                    type="text"
                    className="grow"
                    spellCheck={false}
                    placeholder="/var/lib/libvirt/images"
                    value={draft.dest}
                    onChange={(e) => set({ dest: e.target.value })}
                    onBlur={touch('dest')}
                  />
                )}
              </Field>
              <button type="button" ref={folderButton} className="align-end" onClick={() => void chooseFolder()}>
                Choose folder…
              </button>
            </div>
            {destSpace && destSpace.path === draft.dest.trim() ? (
              destSpace.error ? (
                <p className="field-errors" data-testid="dest-space">
                  {destSpace.error.message}
                </p>
              ) : (
                <p className="muted" data-testid="dest-space">
                  Free space there: <strong>{formatBytes(destSpace.free)}</strong>
                </p>
              )
            ) : null}
            {draft.operation === 'convert' && draft.disks.length ? (
              <ul className="output-list" aria-label="Output files">
                {draft.disks.map((d) => (
                  <li key={d}>
                    <code>{d}</code> → <code>{outputPathFor(d, draft.dest, draft.format) || '(choose a destination)'}</code>
                  </li>
                ))}
              </ul>
            ) : null}
          </fieldset>
        ) : null}

        <fieldset>
          <legend>Priority</legend>
          <Field id="priority" label="Priority (0–100)" hint="Higher runs first when jobs wait." errors={errors.priority}>
            {(c) => (
              <input
                {...c}
                type="number"
                min={0}
                max={100}
                step={1}
                value={Number.isFinite(draft.priority) ? draft.priority : ''}
                onChange={(e) => set({ priority: e.target.value === '' ? Number.NaN : Number(e.target.value) })}
                onBlur={touch('priority')}
              />
            )}
          </Field>
        </fieldset>

        <FieldErrors id="form-errors" errors={errors.form} />
        {!opAvail.enabled && opAvail.reason ? (
          <p className="reason" id="submit-reason">
            {operationLabel(draft.operation)} cannot be submitted: {opAvail.reason}
          </p>
        ) : currentSupport && !currentSupport.runnable ? (
          <p className="reason" id="submit-reason" data-testid="support-reasons">
            This machine cannot run it: {currentSupport.reasons.join('; ')}
          </p>
        ) : null}
        {submitError ? <ErrorBox error={submitError} title="Not submitted." /> : null}
        <div className="form-actions">
          <button
            type="submit"
            id="submit-button"
            className="primary"
            disabled={!opAvail.enabled || submitting}
            aria-describedby={!opAvail.enabled ? 'submit-reason' : !check.spec && attempted ? 'submit-incomplete' : undefined}
          >
            {submitting ? 'Submitting…' : submitLabel}
          </button>
          {!check.spec && attempted ? (
            <span className="muted" id="submit-incomplete" data-testid="submit-incomplete">
              Not submitted: complete the fields marked above.
            </span>
          ) : null}
        </div>
      </form>
      <details className="spec-preview">
        <summary>Job spec (JSON)</summary>
        <pre className="code-block" data-testid="spec-preview">
          {JSON.stringify(check.submitted, null, 2)}
        </pre>
      </details>
      {picker ? (
        <FilePicker
          mode={picker}
          {...(picker === 'folder' && draft.dest ? { start: draft.dest } : draft.disks[0] ? { start: draft.disks[0].slice(0, draft.disks[0].lastIndexOf('/')) } : {})}
          onClose={closePicker}
          onChoose={(paths) => {
            if (picker === 'files') actions.addDisks(paths);
            else if (paths[0]) actions.setDraft({ dest: paths[0] });
            closePicker();
          }}
        />
      ) : null}
    </section>
  );
}
