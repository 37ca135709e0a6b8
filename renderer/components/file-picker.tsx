/**
 * The browser's file picker (the desktop app uses native dialogs instead): folders and files
 * under the roots the server was started with, from `fs.list`. A native modal <dialog>, so
 * focus stays inside while it is open and Escape closes it. Files are labelled by
 * lib/file-kind: "disk image" only when the size fits one, "image?" with why otherwise.
 */
import { useEffect, useRef, useState } from 'react';
import type { FsListing, FsRoot } from '../../shared/contract';
import { toErrorInfo } from '../../shared/errors';
import type { ErrorInfo } from '../../shared/protocol';
import { useActions } from '../hooks';
import { fileKindLabel } from '../lib/file-kind';
import { formatBytes } from '../lib/format';
import { ErrorBox } from './error-box';


export function FilePicker(props: { mode: 'files' | 'folder'; start?: string; onChoose: (paths: string[]) => void; onClose: () => void }) {
  const actions = useActions();
  const ref = useRef<HTMLDialogElement>(null);
  const [roots, setRoots] = useState<Omit<FsRoot, 'total_bytes'>[]>([]);
  const [listing, setListing] = useState<FsListing | null>(null);
  const [error, setError] = useState<ErrorInfo | null>(null);
  const [selected, setSelected] = useState<string[]>([]);
  const [loading, setLoading] = useState(false);

  const go = async (path: string) => {
    setLoading(true);
    try {
      setListing(await actions.listFolder(path));
      setError(null);
    } catch (err) {
      setError(toErrorInfo(err));
    } finally {
      setLoading(false);
    }
  };

  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);

  useEffect(() => {
    let gone = false;
    const tryList = async (path: string): Promise<boolean> => {
      try {
        const l = await actions.listFolder(path);
        if (!gone) {
          setListing(l);
          setError(null);
        }
        return true;
      } catch (err) {
        if (!gone) setError(toErrorInfo(err));
        return false;
      }
    };
    actions.listRoots().then(
      async (r) => {
        if (gone) return;
        setRoots(r);
        // Start where the field points when the server may show it, else at the first root.
        if (props.start?.startsWith('/') && (await tryList(props.start))) return;
        if (r[0]) await tryList(r[0].path);
      },
      (err: unknown) => setError(toErrorInfo(err)),
    );
    return () => {
      gone = true;
    };
    // Runs once, when the picker opens.
  }, []);

  const toggle = (path: string) => setSelected((s) => (s.includes(path) ? s.filter((p) => p !== path) : [...s, path]));
  const dirs = listing?.entries.filter((e) => e.type === 'dir') ?? [];
  const files = listing?.entries.filter((e) => e.type !== 'dir') ?? [];

  return (
    <dialog
      ref={ref}
      className="picker"
      aria-labelledby="picker-title"
      onCancel={(e) => {
        e.preventDefault();
        props.onClose();
      }}
    >
      <h2 id="picker-title">{props.mode === 'files' ? 'Choose disks' : 'Choose a destination folder'}</h2>
      <div className="picker-bar">
        <label htmlFor="picker-root">Folder tree</label>
        <select id="picker-root" value={listing?.root ?? ''} onChange={(e) => void go(e.target.value)}>
          {roots.map((r) => (
            <option key={r.path} value={r.path}>
              {r.path} ({formatBytes(r.free_bytes)} free)
            </option>
          ))}
        </select>
        <button type="button" onClick={() => listing?.parent && void go(listing.parent)} disabled={!listing?.parent}>
          Up one folder
        </button>
      </div>
      <p className="picker-path">
        <span className="sr-only">Showing </span>
        <code data-testid="picker-path">{listing?.path ?? '…'}</code>
        {listing ? <span className="muted"> — {formatBytes(listing.free_bytes)} free</span> : null}
        {loading ? <span className="muted"> loading…</span> : null}
      </p>
      {error ? <ErrorBox error={error} /> : null}
      <div className="picker-list" role="group" aria-label="Folder contents">
        {dirs.length === 0 && files.length === 0 && listing ? <p className="muted">This folder is empty.</p> : null}
        <ul>
          {dirs.map((d) => (
            <li key={d.path}>
              <button type="button" className="picker-dir" onClick={() => void go(d.path)}>
                <span aria-hidden="true" className="dir-mark">▸ </span>
                {d.name}/
              </button>
            </li>
          ))}
          {files.map((f) => {
            const selectable = props.mode === 'files' && f.type === 'file' && f.kind !== 'extent';
            const id = `pick-${f.path}`;
            const label = fileKindLabel(f);
            return (
              <li key={f.path} className={`picker-file${f.kind ? ` kind-${f.kind}` : ''}${label?.likely ? ' likely' : ''}`}>
                {selectable ? (
                  <>
                    <input type="checkbox" id={id} checked={selected.includes(f.path)} onChange={() => toggle(f.path)} />
                    <label htmlFor={id}>{f.name}</label>
                  </>
                ) : (
                  <span className="muted">{f.name}</span>
                )}
                <span className="muted">
                  {' '}
                  {formatBytes(f.size_bytes)}
                  {label ? (
                    <>
                      {' · '}
                      <span data-testid="file-kind">{label.text}</span>
                      {label.note ? ` (${label.note})` : ''}
                    </>
                  ) : null}
                </span>
              </li>
            );
          })}
        </ul>
        {listing?.truncated ? <p className="muted">Only the first {listing.entries.length} entries are shown.</p> : null}
      </div>
      <div className="dialog-actions">
        <button type="button" onClick={props.onClose}>
          Cancel
        </button>
        {props.mode === 'files' ? (
          <button type="button" className="primary" disabled={selected.length === 0} onClick={() => props.onChoose(selected)}>
            {selected.length === 0 ? 'Add disks' : `Add ${selected.length} disk${selected.length === 1 ? '' : 's'}`}
          </button>
        ) : (
          <button type="button" className="primary" disabled={!listing} onClick={() => listing && props.onChoose([listing.path])}>
            Use this folder
          </button>
        )}
      </div>
    </dialog>
  );
}
