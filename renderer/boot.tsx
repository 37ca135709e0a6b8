/**
 * Starting the app: choose the client (preload bridge or HTTP/SSE), make the store and the
 * actions, follow the URL fragment, render, then start (snapshot and event stream).
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app';
import { selectClient } from './client/select-client';
import { AppContext } from './hooks';
import { parseRoute } from './lib/routes';
import { createActions } from './store/actions';
import { createAppStore } from './store/store';

export function start(root: HTMLElement): void {
  const { client, desktop } = selectClient();
  const store = createAppStore();
  const actions = createActions(client, store, desktop);

  const syncRoute = () => store.getState().setRoute(parseRoute(location.hash));
  syncRoute();
  window.addEventListener('hashchange', syncRoute);

  createRoot(root).render(
    <StrictMode>
      <AppContext.Provider value={{ store, actions }}>
        <App />
      </AppContext.Provider>
    </StrictMode>,
  );
  void actions.boot().finally(() => performance.mark('h2k-ready'));
}
