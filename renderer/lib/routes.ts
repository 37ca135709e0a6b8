/**
 * The views and their addresses in the URL fragment (`#/history/<id>`), so a reload comes back
 * to the same view and the browser's back button works.
 */
export type Route =
  | { view: 'machine' }
  | { view: 'new' }
  | { view: 'progress' }
  | { view: 'history'; id: string | null }
  | { view: 'report'; id: string | null }
  | { view: 'settings' };

export type View = Route['view'];

export const DEFAULT_ROUTE: Route = { view: 'new' };

const ID = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$/;

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [view, id] = parts;
  const validId = id !== undefined && ID.test(id) ? id : null;
  switch (view) {
    case 'machine':
    case 'new':
    case 'progress':
    case 'settings':
      return { view };
    case 'history':
    case 'report':
      return { view, id: validId };
    default:
      return DEFAULT_ROUTE;
  }
}

export function routeHash(r: Route): string {
  if ((r.view === 'history' || r.view === 'report') && r.id) return `#/${r.view}/${encodeURIComponent(r.id)}`;
  return `#/${r.view}`;
}
