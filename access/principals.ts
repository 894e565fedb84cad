import type { Subscriber } from '../subscribers/definition';
import { SUBSCRIBERS, type SubscriberName } from '../subscribers/index';
import type { Durable } from './types';

export type { Durable } from './types';

/** The streams that carry domain events (every stream but the DLQ). */
export const EVENT_STREAMS = ['CHECKOUT', 'INVENTORY', 'PAYMENTS', 'SHIPPING'] as const;
/** The subjects of those streams: what only the relay (and a DLQ replay) may publish. */
export const EVENT_SUBJECTS = ['checkout.>', 'inventory.>', 'payments.>', 'shipping.>'] as const;

/**
 * Who a process is, to NATS and to PostgreSQL. One entry per kind of process: each gets a NATS
 * user and a PostgreSQL role of its own, with only the permissions its code needs
 * (access/nats-permissions.ts, access/postgres-grants.ts). A subscriber's principal comes from its
 * definition (subscribers/definition.ts), listed in SUBSCRIBERS. `admin` is the local stack's operator
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

/** The checkout's own processes, before the subscribers. */
const PROCESSES = [
  { name: 'api', pgRole: 'checkout_api', nats: true, entryPoints: ['api/server.ts'] },
  { name: 'saga-worker', pgRole: 'checkout_saga_worker', nats: false, entryPoints: ['workers/saga-worker.ts'] },
  { name: 'saga-starter', pgRole: 'checkout_saga_starter', nats: false, entryPoints: ['workers/saga-starter.ts'] },
  { name: 'outbox-relay', pgRole: 'checkout_outbox_relay', nats: true, entryPoints: ['workers/relay.ts'] },
] as const satisfies readonly Principal[];

/** Tools and operators, after the subscribers. */
const TOOLS = [
  // Holds the payload keys and decodes for the Web UI: no NATS, no PostgreSQL.
  { name: 'codec-server', nats: false, entryPoints: ['workers/codec-server.ts'] },
  { name: 'dlq', nats: true, entryPoints: ['scripts/dlq.ts'] },
  { name: 'admin', nats: true, entryPoints: [] },
] as const satisfies readonly Principal[];

export type PrincipalName = (typeof PROCESSES)[number]['name'] | SubscriberName | (typeof TOOLS)[number]['name'];

/** A subscriber's principal: its NATS user and PostgreSQL role, from its definition. */
function subscriberPrincipal<N extends SubscriberName>(s: Subscriber<N>): Principal & { name: N } {
  return { name: s.name, pgRole: s.pgRole, nats: true, durables: s.durables, entryPoints: s.entryPoints ?? [] };
}

export const PRINCIPALS: readonly (Principal & { name: PrincipalName })[] = [
  ...PROCESSES,
  ...SUBSCRIBERS.map((s) => subscriberPrincipal(s)),
  ...TOOLS,
];

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
