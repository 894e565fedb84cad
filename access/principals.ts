import { AUDIT_CONSUMER } from '../subscribers/audit';
import { NOTIFICATIONS_CONSUMER } from '../subscribers/notifications';
import { READ_MODEL_CONSUMER } from '../subscribers/read-model';

/** The streams that carry domain events (every stream but the DLQ). */
export const EVENT_STREAMS = ['CHECKOUT', 'INVENTORY', 'PAYMENTS', 'SHIPPING'] as const;
/** The subjects of those streams: what only the relay (and a DLQ replay) may publish. */
export const EVENT_SUBJECTS = ['checkout.>', 'inventory.>', 'payments.>', 'shipping.>'] as const;

/** A durable consumer a principal may create, read from, ack on and (for a team) delete. */
export interface Durable {
  stream: string;
  name: string;
}

/**
 * Who a process is, to NATS and to PostgreSQL. One entry per kind of process: each gets a NATS
 * user and a PostgreSQL role of its own, with only the permissions its code needs
 * (access/nats-permissions.ts, access/postgres-grants.ts). `admin` is the local stack's operator
 * (tests, bench, chaos, `stack:up`'s own probe): every NATS permission, and PostgreSQL's owner role
 * from DATABASE_URL, which also runs the migrations.
 */
export interface Principal {
  name: string;
  /** PostgreSQL role; none for a principal that never connects to PostgreSQL. */
  pgRole?: string;
  /** Whether it connects to NATS (the saga worker and starter never do). */
  nats: boolean;
  /** Durable consumers it runs (subscribers). */
  durables?: readonly Durable[];
  /** Entry points that run as this principal, for spawners that know a process by its file. */
  entryPoints: readonly string[];
}

const onEvents = (name: string): Durable[] => EVENT_STREAMS.map((stream) => ({ stream, name }));

export const PRINCIPALS = [
  { name: 'api', pgRole: 'checkout_api', nats: true, entryPoints: ['api/server.ts'] },
  { name: 'saga-worker', pgRole: 'checkout_saga_worker', nats: false, entryPoints: ['workers/saga-worker.ts'] },
  { name: 'saga-starter', pgRole: 'checkout_saga_starter', nats: false, entryPoints: ['workers/saga-starter.ts'] },
  { name: 'outbox-relay', pgRole: 'checkout_outbox_relay', nats: true, entryPoints: ['workers/relay.ts'] },
  {
    name: 'audit-subscriber',
    pgRole: 'checkout_audit',
    nats: true,
    durables: onEvents(AUDIT_CONSUMER),
    entryPoints: ['workers/audit.ts'],
  },
  {
    name: 'read-model',
    pgRole: 'checkout_read_model',
    nats: true,
    durables: [{ stream: 'CHECKOUT', name: READ_MODEL_CONSUMER }],
    entryPoints: ['workers/read-model.ts'],
  },
  {
    name: 'notifications',
    pgRole: 'checkout_notifications',
    nats: true,
    durables: [{ stream: 'CHECKOUT', name: NOTIFICATIONS_CONSUMER }],
    entryPoints: ['workers/notifications.ts'],
  },
  // Holds the payload keys and decodes for the Web UI: no NATS, no PostgreSQL.
  { name: 'codec-server', nats: false, entryPoints: ['workers/codec-server.ts'] },
  { name: 'dlq', nats: true, entryPoints: ['scripts/dlq.ts'] },
  { name: 'admin', nats: true, entryPoints: [] },
] as const satisfies readonly Principal[];

export type PrincipalName = (typeof PRINCIPALS)[number]['name'];

export function principal(name: PrincipalName): Principal {
  const found: Principal | undefined = PRINCIPALS.find((p) => p.name === name);
  if (!found) throw new Error(`unknown principal ${name}`);
  return found;
}

/**
 * The principal a process runs as, from its entry point and arguments (`workers/relay.ts` ->
 * outbox-relay, `workers/subscriber-host.ts read-model` -> read-model); undefined for a file that
 * is not one of the checkout's processes (a test's own child runs as the stack's admin).
 */
export function principalOfProcess(file: string, args: readonly string[] = []): PrincipalName | undefined {
  const normalized = file.replace(/\\/g, '/').replace(/^\.\//, '');
  if (normalized === 'workers/subscriber-host.ts') return PRINCIPALS.find((p) => p.name === args[0])?.name;
  return PRINCIPALS.find((p) => (p.entryPoints as readonly string[]).includes(normalized))?.name;
}
