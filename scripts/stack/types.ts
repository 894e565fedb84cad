import type { TemporalPersistence } from './temporal-persistence';
import type { GoToolName } from './tools';

/** The services `stack:up` manages, in start order. */
export const componentNames = ['postgres', 'nats', 'temporal'] as const;

/** One of the managed services. */
export type ComponentName = (typeof componentNames)[number];

/**
 * What a component is doing, as printed:
 * `started` (launched just now), `running` (launched earlier by us), `external` (reachable but
 * not ours, so never stopped), `not running`, `stopped` (stopped just now), `ready` (a tool is
 * installed), `failed`.
 */
export type ComponentState = 'started' | 'running' | 'external' | 'not running' | 'stopped' | 'ready' | 'failed';

/** Lines of the HA stack (`up --ha`): one per server of the topology, and the failover's steps. */
export type HaReportName =
  `nats-${number}` | `pg-${number}` | 'pg-proxy' | 'temporal-server' | 'temporal-ui' | 'failover';

/** One printed line of `up`, `down` or `status`. */
export interface ComponentReport {
  name: ComponentName | 'test-server' | 'natscli' | 'chromium' | 'python' | GoToolName | HaReportName;
  state: ComponentState;
  /** Address the app uses, e.g. 127.0.0.1:55432, or a path for tools. */
  address: string;
  pid?: number;
  /** Extra facts such as `data .stack/postgres/data` or `ui http://127.0.0.1:8233`. */
  details?: string[];
}

/** Where human progress lines go (console by default; tests may pass a no-op). */
export type Say = (line: string) => void;

/** Options shared by `stackUp`, `stackDown` and `stackStatus`. */
export interface StackOptions {
  /** Restrict to these services; all of them when omitted. */
  only?: readonly ComponentName[];
  /** `up` only: also prepare the Temporal time-skipping test server. */
  testServer?: boolean;
  /** `up` only: also build the `nats` CLI into the cache bin dir (benchmarks use it). */
  natscli?: boolean;
  /** `up` only: also make sure Debian's Chromium is installed (the Web UI browser test drives it). */
  browser?: boolean;
  /** `up` only: also build these pinned Go tools into the cache (promtool, helm, toxiproxy, ...). */
  tools?: readonly GoToolName[];
  /** `up` only: also install the pinned Python tools (scripts/python/requirements.txt) into a cached venv. */
  python?: boolean;
  /** `up` only: how a Temporal dev server started now keeps its state; `tuned` by default (the bench compares the others). */
  temporalPersistence?: TemporalPersistence;
  say?: Say;
}
