/** A job state as a small coloured label (the text says it; the colour only helps). */
import type { JobState } from '../../shared/protocol';
import { stateLabel } from '../lib/format';

export function StateBadge({ state }: { state: JobState }) {
  return <span className={`badge state-${state.toLowerCase()}`}>{stateLabel(state)}</span>;
}
