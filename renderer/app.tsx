/**
 * The app's frame: a skip button, the top bar with the connection state, the navigation
 * between views (buttons; the URL fragment follows), the current view, and the notices.
 * On a change of view, focus moves to the new view's heading (or to the element the change
 * asked for, such as the card of a job just submitted).
 */
import { useEffect, useRef } from 'react';
import { errorInfo } from '../shared/errors';
import { ErrorBox } from './components/error-box';
import { Notices } from './components/notices';
import { useActions, useApp } from './hooks';
import { isTerminalState } from './lib/jobs';
import type { Route, View } from './lib/routes';
import { BuilderView } from './views/builder-view';
import { HistoryView } from './views/history-view';
import { MachineView } from './views/machine-view';
import { ProgressView } from './views/progress-view';
import { ReportView } from './views/report-view';
import { SettingsView } from './views/settings-view';

const NAV: { view: View; label: string }[] = [
  { view: 'new', label: 'New job' },
  { view: 'progress', label: 'Progress' },
  { view: 'history', label: 'History' },
  { view: 'report', label: 'Reports' },
  { view: 'machine', label: 'This machine' },
  { view: 'settings', label: 'Settings' },
];

function CurrentView({ route }: { route: Route }) {
  switch (route.view) {
    case 'machine':
      return <MachineView />;
    case 'new':
      return <BuilderView />;
    case 'progress':
      return <ProgressView />;
    case 'history':
      return <HistoryView id={route.id} />;
    case 'report':
      return <ReportView id={route.id} />;
    case 'settings':
      return <SettingsView />;
  }
}

function ConnectionBanner() {
  const connection = useApp((s) => s.connection);
  if (connection === 'unauthorized') return <ErrorBox error={errorInfo('unauthorized')} />;
  if (connection === 'reconnecting') {
    return (
      <p className="banner" role="status">
        The connection to the worker was lost; reconnecting…
      </p>
    );
  }
  return null;
}

export function App() {
  const route = useApp((s) => s.route);
  const live = useApp((s) => Object.values(s.jobs).filter((j) => !isTerminalState(j.state)).length);
  const door = useApp((s) => s.door);
  const dataDir = useApp((s) => s.info?.data_dir);
  const actions = useActions();
  const first = useRef(true);
  const routeKey = `${route.view}/${'id' in route ? (route.id ?? '') : ''}`;

  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    // A target set with the navigation (the card of a job just submitted) takes focus, once;
    // otherwise the view's heading does.
    const target = actions.takeFocusTarget();
    const el = (target && document.getElementById(target)) || document.getElementById('view-title');
    el?.focus();
  }, [routeKey, actions]);

  return (
    <>
      <button type="button" className="skip-link" onClick={() => document.getElementById('view-title')?.focus()}>
        Skip to content
      </button>
      <header className="topbar">
        <span className="brand">hyper2kvm Workbench</span>
        <span className="muted topbar-info">
          {door === 'ipc' ? 'desktop' : 'browser'}
          {dataDir ? (
            <>
              {' '}
              · data <code>{dataDir}</code>
            </>
          ) : null}
        </span>
      </header>
      <div className="layout">
        <nav aria-label="Views" className="sidebar">
          <ul>
            {NAV.map((n) => (
              <li key={n.view}>
                <button
                  type="button"
                  aria-current={route.view === n.view ? 'page' : undefined}
                  onClick={() => actions.navigate(n.view === 'history' || n.view === 'report' ? { view: n.view, id: null } : { view: n.view })}
                >
                  {n.label}
                  {n.view === 'progress' && live > 0 ? (
                    <span className="count" aria-label={`${live} active or queued`}>
                      {live}
                    </span>
                  ) : null}
                </button>
              </li>
            ))}
          </ul>
        </nav>
        <main id="main">
          <ConnectionBanner />
          <CurrentView route={route} />
        </main>
      </div>
      <Notices />
    </>
  );
}
