/**
 * The one store: the slices combined. A vanilla zustand store, so the client and the actions
 * use it outside React and the tests without a DOM; components read it through `useApp` with
 * narrow selectors.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { createBuilderSlice, createCapabilitiesSlice, createJobsSlice, createSettingsSlice, createUiSlice } from './slices';
import type { AppState } from './types';

export type AppStore = StoreApi<AppState>;

export function createAppStore(): AppStore {
  return createStore<AppState>()((...a) => ({
    ...createCapabilitiesSlice(...a),
    ...createJobsSlice(...a),
    ...createBuilderSlice(...a),
    ...createSettingsSlice(...a),
    ...createUiSlice(...a),
  }));
}
