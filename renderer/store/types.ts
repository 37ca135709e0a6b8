/**
 * The app's state: one zustand store made of typed slices (capabilities, jobs, builder,
 * settings, ui). Slices hold data and the small synchronous actions that change it; the
 * asynchronous work (calling the worker) lives in store/actions.ts, outside React.
 */
import type { Settings, WorkerInfo } from '../../shared/contract';
import type { z } from 'zod';
import type { ErrorInfo, JobDetail, JobState, JobSummary, LogEvent, OperationType, WorkerCapabilities, WorkerEvent } from '../../shared/protocol';
import type { BuilderDraft, BuilderField } from '../lib/builder';
import type { Route } from '../lib/routes';

export type WorkerInfoValue = z.infer<typeof WorkerInfo>;

export interface CapabilitiesSlice {
  caps: WorkerCapabilities | null;
  info: WorkerInfoValue | null;
  /** 'probing' while the appliance probe runs (20-60 s). */
  capsStatus: 'idle' | 'loading' | 'probing' | 'ready' | 'error';
  capsError: ErrorInfo | null;
  setCaps(caps: WorkerCapabilities): void;
  setCapsStatus(status: CapabilitiesSlice['capsStatus'], error?: ErrorInfo | null): void;
  setInfo(info: WorkerInfoValue): void;
}

export interface HistoryQuery {
  search: string;
  state: JobState | '';
  operation: OperationType | '';
}

export interface JobsSlice {
  /** Every job the app knows of, by id: the active and waiting ones, and those it has shown. */
  jobs: Record<string, JobSummary>;
  /** The tail of each job's log. */
  logs: Record<string, LogEvent[]>;
  /** When each job's current run started (its latest RUNNING). */
  runningSince: Record<string, string>;
  /** Loaded job details (history detail, report), by id. */
  details: Record<string, JobDetail>;
  /** Loaded events of a job's detail view, by id. */
  detailEvents: Record<string, { events: WorkerEvent[]; more: boolean }>;
  snapshotLoaded: boolean;
  history: { query: HistoryQuery; ids: string[]; total: number; nextBefore: string | null; loading: boolean; error: ErrorInfo | null };
  /** The Reports list: completed inspect jobs as the worker pages them (newest first). */
  reports: ReportsList;
  upsertJobs(jobs: readonly JobSummary[]): void;
  /** Apply a batch of events; returns the ids not known yet and those that just ended. */
  applyEvents(events: readonly WorkerEvent[]): { unknown: string[]; ended: string[] };
  setLogs(id: string, logs: readonly LogEvent[]): void;
  setRunningSince(id: string, at: string): void;
  setDetail(detail: JobDetail): void;
  setDetailEvents(id: string, events: WorkerEvent[], more: boolean): void;
  setSnapshotLoaded(): void;
  setHistoryQuery(query: Partial<HistoryQuery>): void;
  setHistory(patch: Partial<Omit<JobsSlice['history'], 'query'>>): void;
  setReports(patch: Partial<ReportsList>): void;
  /** Put a just-completed inspection at the top of a loaded Reports list (once). */
  addReport(job: JobSummary): void;
}

export interface ReportsList {
  ids: string[];
  /** All completed inspect jobs, as jobs.list counts them. */
  total: number;
  /** Cursor of the next (older) page; null when every report is listed. */
  nextBefore: string | null;
  loading: boolean;
  /** True once the first page is in. */
  loaded: boolean;
  error: ErrorInfo | null;
}

export interface BuilderSlice {
  draft: BuilderDraft;
  /** Free space at the destination, as last looked up. */
  destSpace: { path: string; free: number | null; error: ErrorInfo | null } | null;
  /** Whether the current valid spec can run here (jobs.supports), keyed by the spec's JSON. */
  support: { key: string; runnable: boolean; reasons: string[] } | null;
  submitting: boolean;
  submitError: ErrorInfo | null;
  /** Where the draft came from, shown as a note (e.g. a finding). */
  origin: { finding: string; title: string; inspectJob: string; planned: boolean } | null;
  /** Fields the technician has changed or left: their errors are shown. */
  touched: BuilderField[];
  /** A submit was tried: every error is shown. */
  attempted: boolean;
  setDraft(patch: Partial<BuilderDraft>): void;
  addDisks(paths: readonly string[]): void;
  removeDisk(path: string): void;
  /** A new draft from the defaults and `defaults`; nothing touched, no origin. */
  resetDraft(defaults: Partial<BuilderDraft>): void;
  /** After a successful submit: the disks cleared, the options kept (lib/builder draftAfterSubmit). */
  clearSubmitted(): void;
  touch(fields: readonly BuilderField[]): void;
  setAttempted(attempted: boolean): void;
  setDestSpace(space: BuilderSlice['destSpace']): void;
  setSupport(support: BuilderSlice['support']): void;
  setSubmitting(submitting: boolean, error?: ErrorInfo | null): void;
  setOrigin(origin: BuilderSlice['origin']): void;
}

export interface SettingsSlice {
  settings: Settings | null;
  settingsStatus: 'idle' | 'loading' | 'saving' | 'ready' | 'error';
  settingsError: ErrorInfo | null;
  setSettings(settings: Settings): void;
  setSettingsStatus(status: SettingsSlice['settingsStatus'], error?: ErrorInfo | null): void;
}

export type ConnectionStatus = 'connecting' | 'open' | 'reconnecting' | 'unauthorized';

export interface Notice {
  id: number;
  kind: 'info' | 'error';
  text: string;
  error?: ErrorInfo;
}

export interface UiSlice {
  route: Route;
  connection: ConnectionStatus;
  /** 'ipc' in the desktop app, 'http' in a browser. */
  door: 'ipc' | 'http';
  notices: Notice[];
  /** The job to highlight in the progress view (just submitted). */
  focusJob: string | null;
  /** The element to focus after the next change of view, instead of the view's heading (once). */
  focusTarget: string | null;
  setRoute(route: Route): void;
  setConnection(status: ConnectionStatus): void;
  setDoor(door: UiSlice['door']): void;
  notify(notice: Omit<Notice, 'id'>): void;
  dismiss(id: number): void;
  setFocusJob(id: string | null): void;
  setFocusTarget(id: string | null): void;
}

export type AppState = CapabilitiesSlice & JobsSlice & BuilderSlice & SettingsSlice & UiSlice;
