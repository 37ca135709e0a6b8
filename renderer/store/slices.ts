/**
 * The slices' initial state and synchronous actions. Each is a zustand StateCreator over the
 * whole AppState (the slices pattern), so a slice may read others but owns only its fields.
 */
import type { StateCreator } from 'zustand';
import type { JobSummary, LogEvent } from '../../shared/protocol';
import { DRAFT_DEFAULTS, draftAfterSubmit } from '../lib/builder';
import { appendLogs, applyEvent, isTerminalState } from '../lib/jobs';
import { DEFAULT_ROUTE } from '../lib/routes';
import type { AppState, BuilderSlice, CapabilitiesSlice, JobsSlice, SettingsSlice, UiSlice } from './types';

type Slice<T> = StateCreator<AppState, [], [], T>;

export const createCapabilitiesSlice: Slice<CapabilitiesSlice> = (set) => ({
  caps: null,
  info: null,
  capsStatus: 'idle',
  capsError: null,
  setCaps: (caps) => set({ caps, capsStatus: 'ready', capsError: null }),
  setCapsStatus: (capsStatus, error = null) => set({ capsStatus, capsError: error }),
  setInfo: (info) => set({ info }),
});

export const createJobsSlice: Slice<JobsSlice> = (set, get) => ({
  jobs: {},
  logs: {},
  runningSince: {},
  details: {},
  detailEvents: {},
  snapshotLoaded: false,
  history: { query: { search: '', state: '', operation: '' }, ids: [], total: 0, nextBefore: null, loading: false, error: null },
  reports: { ids: [], total: 0, nextBefore: null, loading: false, loaded: false, error: null },
  upsertJobs: (list) =>
    set((s) => {
      const jobs = { ...s.jobs };
      for (const j of list) {
        const known = jobs[j.id];
        // Keep whichever is newer: a stored summary may lag events already applied.
        if (!known || j.updated_at >= known.updated_at || (j.last_progress?.seq ?? 0) > (known.last_progress?.seq ?? 0)) {
          jobs[j.id] = known && (known.last_progress?.seq ?? 0) > (j.last_progress?.seq ?? 0) ? { ...j, last_progress: known.last_progress } : j;
        }
      }
      return { jobs };
    }),
  applyEvents: (events) => {
    const s = get();
    const jobs: Record<string, JobSummary> = { ...s.jobs };
    const logs = { ...s.logs };
    const runningSince = { ...s.runningSince };
    const unknown = new Set<string>();
    const ended: string[] = [];
    const newLogs = new Map<string, LogEvent[]>();
    for (const e of events) {
      const job = jobs[e.job_id];
      if (e.type === 'log') {
        const list = newLogs.get(e.job_id) ?? [];
        list.push(e);
        newLogs.set(e.job_id, list);
      }
      if (e.type === 'state' && e.to === 'RUNNING') runningSince[e.job_id] = e.at;
      if (!job) {
        unknown.add(e.job_id);
        continue;
      }
      const next = applyEvent(job, e);
      if (next !== job) {
        if (e.type === 'state' && isTerminalState(e.to) && !isTerminalState(job.state)) ended.push(e.job_id);
        jobs[e.job_id] = next;
      }
    }
    for (const [id, list] of newLogs) logs[id] = appendLogs(logs[id] ?? [], list);
    set({ jobs, logs, runningSince });
    return { unknown: [...unknown], ended };
  },
  setLogs: (id, list) => set((s) => ({ logs: { ...s.logs, [id]: appendLogs([], list) } })),
  setRunningSince: (id, at) => set((s) => ({ runningSince: { ...s.runningSince, [id]: at } })),
  setDetail: (detail) =>
    set((s) => ({ details: { ...s.details, [detail.summary.id]: detail }, jobs: { ...s.jobs, [detail.summary.id]: detail.summary } })),
  setDetailEvents: (id, events, more) => set((s) => ({ detailEvents: { ...s.detailEvents, [id]: { events, more } } })),
  setSnapshotLoaded: () => set({ snapshotLoaded: true }),
  setHistoryQuery: (query) => set((s) => ({ history: { ...s.history, query: { ...s.history.query, ...query } } })),
  setHistory: (patch) => set((s) => ({ history: { ...s.history, ...patch } })),
  setReports: (patch) => set((s) => ({ reports: { ...s.reports, ...patch } })),
  addReport: (job) =>
    set((s) => {
      const r = s.reports;
      if (!r.loaded || job.operation !== 'inspect' || job.state !== 'COMPLETED' || r.ids.includes(job.id)) return {};
      return { reports: { ...r, ids: [job.id, ...r.ids], total: r.total + 1 } };
    }),
});

export const createBuilderSlice: Slice<BuilderSlice> = (set) => ({
  draft: DRAFT_DEFAULTS,
  destSpace: null,
  support: null,
  submitting: false,
  submitError: null,
  origin: null,
  touched: [],
  attempted: false,
  setDraft: (patch) => set((s) => ({ draft: { ...s.draft, ...patch }, submitError: null })),
  addDisks: (paths) => set((s) => ({ draft: { ...s.draft, disks: [...new Set([...s.draft.disks, ...paths.filter(Boolean)])] }, submitError: null })),
  removeDisk: (path) => set((s) => ({ draft: { ...s.draft, disks: s.draft.disks.filter((d) => d !== path) }, submitError: null })),
  resetDraft: (defaults) => set({ draft: { ...DRAFT_DEFAULTS, ...defaults }, origin: null, submitError: null, support: null, touched: [], attempted: false }),
  clearSubmitted: () => set((s) => ({ draft: draftAfterSubmit(s.draft), origin: null, submitError: null, support: null, touched: [], attempted: false })),
  touch: (fields) =>
    set((s) => {
      const fresh = fields.filter((f) => !s.touched.includes(f));
      return fresh.length ? { touched: [...s.touched, ...fresh] } : {};
    }),
  setAttempted: (attempted) => set({ attempted }),
  setDestSpace: (destSpace) => set({ destSpace }),
  setSupport: (support) => set({ support }),
  setSubmitting: (submitting, error = null) => set({ submitting, submitError: error }),
  setOrigin: (origin) => set({ origin }),
});

export const createSettingsSlice: Slice<SettingsSlice> = (set) => ({
  settings: null,
  settingsStatus: 'idle',
  settingsError: null,
  setSettings: (settings) => set({ settings, settingsStatus: 'ready', settingsError: null }),
  setSettingsStatus: (settingsStatus, error = null) => set({ settingsStatus, settingsError: error }),
});

let noticeId = 0;

export const createUiSlice: Slice<UiSlice> = (set) => ({
  route: DEFAULT_ROUTE,
  connection: 'connecting',
  door: 'http',
  notices: [],
  focusJob: null,
  focusTarget: null,
  setRoute: (route) => set({ route }),
  setConnection: (connection) => set({ connection }),
  setDoor: (door) => set({ door }),
  notify: (n) => set((s) => ({ notices: [...s.notices.slice(-3), { ...n, id: ++noticeId }] })),
  dismiss: (id) => set((s) => ({ notices: s.notices.filter((n) => n.id !== id) })),
  setFocusJob: (focusJob) => set({ focusJob }),
  setFocusTarget: (focusTarget) => set({ focusTarget }),
});
