/**
 * The app's actions: everything that calls the worker, outside React. They call the client and
 * then the store's slice actions; components only call these and select from the store.
 *
 * Start-up: subscribe to the event stream with events held back, pull the snapshot (active and
 * recent jobs, settings, capabilities), then apply the held events (the jobs slice keeps
 * whichever is newer), then apply events as they come, in batches of up to 50 ms so a busy
 * stream costs one render per batch.
 */
import type { DesktopBridge, FsListing } from '../../shared/contract';
import { WorkerError, toErrorInfo } from '../../shared/errors';
import {
  ACTIVE_STATES,
  WAITING_STATES,
  type ErrorInfo,
  type Finding,
  type JobDetail,
  type JobSummary,
  type LogEvent,
  type WorkerEvent,
} from '../../shared/protocol';
import { checkDraft, fieldsOfPatch, outputPathFor, type BuilderDraft, type BuilderField } from '../lib/builder';
import { fixSpec, outputsFor } from '../lib/remediation';
import { readReport } from '../lib/report';
import { runningSince } from '../lib/jobs';
import { dirname } from '../lib/paths';
import { routeHash, type Route } from '../lib/routes';
import type { AppClient } from '../client/types';
import type { AppStore } from './store';

export const EVENT_BATCH_MS = 50;
/** Reports listed per page (completed inspect jobs). */
export const REPORTS_PAGE = 25;

/** Converted outputs for a report's disks: from a convert job, or planned. */
export interface ConvertedOutputs {
  outputs: string[];
  /** The convert job that wrote (or will write) them; null when only planned. */
  convertJob: string | null;
}

export type Actions = ReturnType<typeof createActions>;

/** The element id of a job's card in Progress (focused after a submit). */
export const jobCardId = (id: string): string => `job-card-${id}`;

export function createActions(client: AppClient, store: AppStore, desktop: DesktopBridge | null) {
  const st = () => store.getState();
  let held: WorkerEvent[] | null = [];
  let batch: WorkerEvent[] = [];
  let batchTimer: ReturnType<typeof setTimeout> | null = null;
  const fetching = new Set<string>();
  let supportTimer: ReturnType<typeof setTimeout> | null = null;
  let spaceTimer: ReturnType<typeof setTimeout> | null = null;

  const fail = (text: string, err: unknown): ErrorInfo => {
    const error = toErrorInfo(err);
    st().notify({ kind: 'error', text, error });
    return error;
  };

  // ---------------------------------------------------------------- events

  function flushBatch(): void {
    batchTimer = null;
    const events = batch;
    batch = [];
    if (events.length) applyBatch(events);
  }

  function onEvent(e: WorkerEvent): void {
    if (held) {
      held.push(e);
      return;
    }
    batch.push(e);
    batchTimer ??= setTimeout(flushBatch, EVENT_BATCH_MS);
  }

  function applyBatch(events: WorkerEvent[]): void {
    const { unknown, ended } = st().applyEvents(events);
    for (const id of [...unknown, ...ended]) void refreshJob(id);
  }

  /** Fetch one job's summary (a job seen for the first time, or one that just ended). */
  async function refreshJob(id: string): Promise<void> {
    if (fetching.has(id)) return;
    fetching.add(id);
    try {
      const d = await client.call('jobs.get', { id });
      const isNew = !st().jobs[id];
      st().upsertJobs([d.summary]);
      if (st().details[id] || d.terminal) st().setDetail(d);
      const since = d.transitions.findLast((t) => t.to === 'RUNNING');
      if (since) st().setRunningSince(id, since.at);
      if (isNew) addToHistory(d.summary);
      st().addReport(d.summary);
    } catch {
      // The next event or refresh tries again.
    } finally {
      fetching.delete(id);
    }
  }

  function addToHistory(j: JobSummary): void {
    const h = st().history;
    const q = h.query;
    if (q.search || q.state || q.operation || h.ids.includes(j.id)) return;
    st().setHistory({ ids: [j.id, ...h.ids], total: h.total + 1 });
  }

  // ---------------------------------------------------------------- start-up

  async function loadSnapshot(): Promise<void> {
    const [live, recent] = await Promise.all([
      client.call('jobs.list', { state: [...ACTIVE_STATES, ...WAITING_STATES], limit: 200 }),
      client.call('jobs.list', { limit: 20 }),
    ]);
    st().upsertJobs([...recent.jobs, ...live.jobs]);
    // The running jobs' start times and log tails.
    await Promise.all(
      live.jobs
        .filter((j) => ACTIVE_STATES.includes(j.state))
        .map(async (j) => {
          const after = Math.max(0, (j.last_progress?.seq ?? 0) - 300);
          const [detail, ev] = await Promise.all([
            client.call('jobs.get', { id: j.id }),
            client.call('jobs.events', { id: j.id, after_seq: after, limit: 1000 }),
          ]);
          const since = detail.transitions.findLast((t) => t.to === 'RUNNING')?.at ?? runningSince(ev.events);
          if (since) st().setRunningSince(j.id, since);
          st().setLogs(j.id, ev.events.filter((e): e is LogEvent => e.type === 'log'));
        }),
    );
    st().setSnapshotLoaded();
  }

  async function boot(): Promise<void> {
    st().setDoor(client.door);
    let first = true;
    client.onStatus((status) => {
      st().setConnection(status);
      // After the stream came back, pull the snapshot again: cheap, and nothing is missed.
      if (status === 'open' && !first) void loadSnapshot().catch(() => undefined);
      if (status === 'open') first = false;
    });
    client.subscribe({}, onEvent);
    const results = await Promise.allSettled([
      loadSnapshot(),
      client.call('worker.info', {}).then((i) => st().setInfo(i)),
      loadSettings(),
    ]);
    const heldEvents = held ?? [];
    held = null;
    if (heldEvents.length) applyBatch(heldEvents);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) fail('Could not load the jobs.', failed.reason);
    void loadCapabilities('fast');
    void loadHistory();
  }

  // ---------------------------------------------------------------- capabilities, settings

  async function loadCapabilities(mode: 'fast' | 'probe' | 'refresh'): Promise<void> {
    st().setCapsStatus(mode === 'fast' ? 'loading' : 'probing');
    try {
      const caps = await client.call('capabilities.get', { appliance: mode !== 'fast', refresh: mode === 'refresh' });
      st().setCaps(caps);
    } catch (err) {
      st().setCapsStatus('error', toErrorInfo(err));
    }
  }

  async function loadSettings(): Promise<void> {
    st().setSettingsStatus('loading');
    try {
      const s = await client.call('settings.get', {});
      st().setSettings(s);
      const d = st().draft;
      if (d.disks.length === 0 && !st().origin) st().setDraft({ format: s.default_format, verify: s.default_verify });
    } catch (err) {
      st().setSettingsStatus('error', toErrorInfo(err));
    }
  }

  async function saveSettings(patch: { concurrency?: number; default_format?: BuilderDraft['format']; default_verify?: BuilderDraft['verify'] }): Promise<boolean> {
    st().setSettingsStatus('saving');
    try {
      st().setSettings(await client.call('settings.set', patch));
      st().notify({ kind: 'info', text: 'Settings saved.' });
      return true;
    } catch (err) {
      st().setSettingsStatus('error', toErrorInfo(err));
      return false;
    }
  }

  // ---------------------------------------------------------------- navigation

  function navigate(route: Route): void {
    const hash = routeHash(route);
    if (typeof location !== 'undefined' && location.hash !== hash) location.hash = hash;
    st().setRoute(route);
  }

  // ---------------------------------------------------------------- builder

  function draftChanged(): void {
    const { draft } = st();
    const check = checkDraft(draft);
    if (supportTimer) clearTimeout(supportTimer);
    if (check.spec) {
      const key = JSON.stringify(check.submitted);
      if (st().support?.key !== key) {
        supportTimer = setTimeout(() => {
          client.call('jobs.supports', { spec: check.submitted }).then(
            (s) => st().setSupport({ key, runnable: s.runnable, reasons: s.reasons }),
            () => st().setSupport(null),
          );
        }, 250);
      }
    }
    const dest = draft.dest.trim();
    if (spaceTimer) clearTimeout(spaceTimer);
    if (dest.startsWith('/') && st().destSpace?.path !== dest) {
      spaceTimer = setTimeout(() => void lookUpSpace(dest), 300);
    } else if (!dest) st().setDestSpace(null);
  }

  async function lookUpSpace(path: string): Promise<void> {
    try {
      const l = await client.call('fs.list', { path, limit: 1 });
      st().setDestSpace({ path, free: l.free_bytes, error: null });
    } catch (err) {
      st().setDestSpace({ path, free: null, error: toErrorInfo(err) });
    }
  }

  /** A change made by the technician: the fields it touches show their errors from now on. */
  function setDraft(patch: Partial<BuilderDraft>): void {
    st().setDraft(patch);
    st().touch(fieldsOfPatch(patch));
    draftChanged();
  }

  function addDisks(paths: readonly string[]): void {
    st().addDisks(paths);
    st().touch(['disks']);
    draftChanged();
  }

  function removeDisk(path: string): void {
    st().removeDisk(path);
    st().touch(['disks']);
    draftChanged();
  }

  /** The technician left a field (blur): its errors show from now on. */
  function touchField(field: BuilderField): void {
    st().touch([field]);
  }

  /** Native dialog when in the desktop app; null in a browser (the view opens its file picker). */
  async function pickDisksNatively(): Promise<boolean> {
    if (!desktop) return false;
    const r = await desktop.pickDisks({ multiple: true });
    if (!r.ok) fail('Could not open the file dialog.', WorkerError.fromInfo(r.error));
    else addDisks(r.value.paths);
    return true;
  }

  async function pickFolderNatively(): Promise<boolean> {
    if (!desktop) return false;
    const r = await desktop.pickFolder({ title: 'Choose the destination folder', ...(st().draft.dest.startsWith('/') ? { default_path: st().draft.dest } : {}) });
    if (!r.ok) fail('Could not open the folder dialog.', WorkerError.fromInfo(r.error));
    else if (r.value.path) {
      st().setDestSpace({ path: r.value.path, free: r.value.free_bytes, error: null });
      setDraft({ dest: r.value.path });
    }
    return true;
  }

  async function listFolder(path: string): Promise<FsListing> {
    return client.call('fs.list', { path });
  }

  async function listRoots(): Promise<{ path: string; free_bytes: number | null }[]> {
    return (await client.call('fs.roots', {})).roots;
  }

  /**
   * Submit the draft. An incomplete one is not sent: every error is shown from then on (the
   * view moves focus to the first). After a successful submit the form is cleared for the next
   * job (options kept) and focus goes to the new job's card in Progress.
   */
  async function submitDraft(): Promise<JobSummary | null> {
    const check = checkDraft(st().draft);
    if (!check.spec) {
      st().setAttempted(true);
      return null;
    }
    st().setSubmitting(true);
    try {
      const job = await client.call('jobs.submit', { spec: check.submitted });
      st().upsertJobs([job]);
      addToHistory(job);
      if (job.state === 'FAILED') {
        st().setSubmitting(false, job.error);
        return job;
      }
      st().setSubmitting(false);
      st().clearSubmitted();
      draftChanged();
      st().setFocusJob(job.id);
      st().setFocusTarget(jobCardId(job.id));
      st().notify({ kind: 'info', text: `Job ${job.id} submitted: ${job.title}` });
      navigate({ view: 'progress' });
      return job;
    } catch (err) {
      st().setSubmitting(false, toErrorInfo(err));
      return null;
    }
  }

  /** Start a new draft, e.g. "convert these disks" from a report. */
  function startDraft(patch: Partial<BuilderDraft>, origin: ReturnType<AppStore['getState']>['origin'] = null): void {
    const s = st().settings;
    st().resetDraft({ ...(s ? { format: s.default_format, verify: s.default_verify } : {}), ...patch });
    st().setOrigin(origin);
    draftChanged();
    navigate({ view: 'new' });
  }

  // ---------------------------------------------------------------- jobs

  async function cancelJob(id: string): Promise<void> {
    try {
      st().upsertJobs([await client.call('jobs.cancel', { id })]);
    } catch (err) {
      fail(`Could not cancel job ${id}.`, err);
    }
  }

  async function rerunJob(id: string): Promise<void> {
    try {
      const job = await client.call('jobs.rerun', { id });
      st().upsertJobs([job]);
      addToHistory(job);
      st().setFocusJob(job.id);
      st().setFocusTarget(jobCardId(job.id));
      navigate({ view: 'progress' });
    } catch (err) {
      fail(`Could not re-run job ${id}.`, err);
    }
  }

  async function loadHistory(more = false): Promise<void> {
    const h = st().history;
    const q = h.query;
    st().setHistory({ loading: true, error: null });
    try {
      const page = await client.call('jobs.list', {
        limit: 50,
        ...(q.search.trim() ? { search: q.search.trim() } : {}),
        ...(q.state ? { state: [q.state] } : {}),
        ...(q.operation ? { operation: q.operation } : {}),
        ...(more && h.nextBefore ? { before: h.nextBefore } : {}),
      });
      st().upsertJobs(page.jobs);
      const ids = page.jobs.map((j) => j.id);
      // The list as it is now: a job seen while the page loaded may have been added to it.
      const cur = st().history.ids;
      st().setHistory({ ids: more ? [...cur, ...ids.filter((i) => !cur.includes(i))] : ids, total: page.total, nextBefore: page.next_before, loading: false });
    } catch (err) {
      st().setHistory({ loading: false, error: toErrorInfo(err) });
    }
  }

  /**
   * The Reports list: completed inspect jobs, asked of the worker with the operation and state
   * filters and paged with `before`, so older reports are one "Load more" away.
   */
  async function loadReports(more = false): Promise<void> {
    const r = st().reports;
    if (r.loading || (more && !r.nextBefore)) return;
    st().setReports({ loading: true, error: null });
    try {
      const page = await client.call('jobs.list', {
        operation: 'inspect',
        state: ['COMPLETED'],
        limit: REPORTS_PAGE,
        ...(more && r.nextBefore ? { before: r.nextBefore } : {}),
      });
      st().upsertJobs(page.jobs);
      const ids = page.jobs.map((j) => j.id);
      const cur = st().reports.ids;
      st().setReports({
        ids: more ? [...cur, ...ids.filter((i) => !cur.includes(i))] : ids,
        total: page.total,
        nextBefore: page.next_before,
        loading: false,
        loaded: true,
      });
    } catch (err) {
      st().setReports({ loading: false, error: toErrorInfo(err) });
    }
  }

  /** The element to focus after this change of view, if one was asked for; cleared on reading. */
  function takeFocusTarget(): string | null {
    const t = st().focusTarget;
    if (t) st().setFocusTarget(null);
    return t;
  }

  /** A finished job's detail (result, transitions) for its card, fetched once. */
  function ensureDetail(id: string): void {
    if (st().details[id]) return;
    void refreshJob(id);
  }

  async function openDetail(id: string): Promise<JobDetail | null> {
    try {
      const d = await client.call('jobs.get', { id });
      st().setDetail(d);
      const ev = await client.call('jobs.events', { id, after_seq: 0, limit: 500 });
      st().setDetailEvents(id, ev.events, ev.events.length === 500);
      return d;
    } catch (err) {
      fail(`Could not load job ${id}.`, err);
      return null;
    }
  }

  async function moreDetailEvents(id: string): Promise<void> {
    const cur = st().detailEvents[id];
    const after = cur?.events.at(-1)?.seq ?? 0;
    try {
      const ev = await client.call('jobs.events', { id, after_seq: after, limit: 500 });
      st().setDetailEvents(id, [...(cur?.events ?? []), ...ev.events], ev.events.length === 500);
    } catch (err) {
      fail(`Could not load the events of job ${id}.`, err);
    }
  }

  async function exportReport(id: string, kind: 'json' | 'markdown'): Promise<void> {
    try {
      const r = await client.call('jobs.report', { id });
      const text = kind === 'json' ? r.json : r.markdown;
      const blob = new Blob([text], { type: kind === 'json' ? 'application/json' : 'text/markdown' });
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = `${r.filename_base}.${kind === 'json' ? 'json' : 'md'}`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      fail(`Could not export the report of job ${id}.`, err);
    }
  }

  async function copyText(text: string, what: string): Promise<void> {
    try {
      await navigator.clipboard.writeText(text);
      st().notify({ kind: 'info', text: `${what} copied.` });
    } catch (err) {
      fail(`Could not copy the ${what.toLowerCase()}.`, err);
    }
  }

  async function showInFolder(path: string): Promise<void> {
    if (!desktop) return;
    const r = await desktop.showInFolder({ path });
    if (!r.ok) fail('Could not open the folder.', WorkerError.fromInfo(r.error));
    else if (!r.value.shown) st().notify({ kind: 'error', text: `${path} no longer exists.` });
  }

  // ---------------------------------------------------------------- reports

  /**
   * The converted copies of an inspected VM's disks: the outputs of the newest convert job over
   * exactly those sources (done or under way), else where the builder would write them.
   */
  async function convertedOutputs(sources: readonly string[]): Promise<ConvertedOutputs> {
    try {
      const page = await client.call('jobs.list', { operation: 'convert', state: ['COMPLETED', ...ACTIVE_STATES, ...WAITING_STATES], limit: 10 });
      for (const j of page.jobs) {
        const d = st().details[j.id] ?? (await client.call('jobs.get', { id: j.id }));
        if (d.spec?.operation !== 'convert') continue;
        const outs = outputsFor(sources, d.spec.params.disks);
        if (outs) return { outputs: outs, convertJob: j.id };
      }
    } catch {
      // Fall through to the planned outputs.
    }
    const d = st().draft;
    const format = st().settings?.default_format ?? d.format;
    return { outputs: sources.map((s) => outputPathFor(s, d.dest || dirname(s), format)), convertJob: null };
  }

  /** Open the builder on the fix for a finding (the caller has checked it is available). */
  function prepareFix(finding: Finding, inspectJob: string, converted: ConvertedOutputs): void {
    const spec = fixSpec(finding, converted.outputs, inspectJob);
    if (!spec) return;
    const { disks: _disks, ...params } = spec.params;
    startDraft(
      { operation: spec.operation as BuilderDraft['operation'], disks: converted.outputs, repairParams: params, labels: spec.labels },
      { finding: finding.id, title: finding.title, inspectJob, planned: converted.convertJob === null },
    );
  }

  /** Open the builder on converting the disks an inspection looked at. */
  function convertInspected(detail: JobDetail): void {
    const report = readReport(detail.result?.payload);
    const disks = detail.spec?.operation === 'inspect' ? detail.spec.params.disks : (report?.disks.map((x) => x.path) ?? []);
    // The destination checked by the inspection, if any; else the technician chooses one.
    const dest = detail.spec?.operation === 'inspect' && detail.spec.params.dest ? detail.spec.params.dest : '';
    startDraft({ operation: 'convert', disks: [...disks], dest, labels: { inspect_job: detail.summary.id } });
  }

  return {
    boot,
    onEvent,
    flushBatch,
    loadSnapshot,
    loadCapabilities,
    loadSettings,
    saveSettings,
    navigate,
    setDraft,
    addDisks,
    removeDisk,
    touchField,
    pickDisksNatively,
    pickFolderNatively,
    listFolder,
    listRoots,
    submitDraft,
    startDraft,
    cancelJob,
    rerunJob,
    loadHistory,
    loadReports,
    ensureDetail,
    takeFocusTarget,
    openDetail,
    moreDetailEvents,
    exportReport,
    copyText,
    showInFolder,
    convertedOutputs,
    prepareFix,
    convertInspected,
    hasDesktop: desktop !== null,
  };
}
