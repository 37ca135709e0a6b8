/**
 * How components reach the store and the actions: one React context holding both, `useApp`
 * for narrow selections, `useActions` for the functions that call the worker.
 */
import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { Actions } from './store/actions';
import type { AppStore } from './store/store';
import type { AppState } from './store/types';

export interface AppContextValue {
  store: AppStore;
  actions: Actions;
}

export const AppContext = createContext<AppContextValue | null>(null);

function useAppContext(): AppContextValue {
  const v = useContext(AppContext);
  if (!v) throw new Error('AppContext missing');
  return v;
}

/** Select from the store; re-renders only when the selected value changes (Object.is). */
export function useApp<T>(selector: (s: AppState) => T): T {
  return useStore(useAppContext().store, selector);
}

export function useActions(): Actions {
  return useAppContext().actions;
}
