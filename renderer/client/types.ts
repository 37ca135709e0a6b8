/** What the views' actions need of a client: the WorkerClient contract plus its connection state. */
import type { WorkerClient } from '../../shared/contract';
import type { ConnectionStatus } from '../store/types';

export interface AppClient extends WorkerClient {
  readonly door: 'ipc' | 'http';
  /** Be told when the event stream connects, drops or is refused; returns the unsubscribe function. */
  onStatus(listener: (status: ConnectionStatus) => void): () => void;
}
