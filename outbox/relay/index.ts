/**
 * The outbox relay: publishes committed outbox rows to JetStream, several relays sharing the
 * partitions. `relay.ts` is the loop; `partitions.ts` who publishes what; `claim.ts` the rows of a
 * batch; `publish.ts` sending them in commit order; `retention.ts` deleting old ones.
 */
export { OutboxRelay, type RelayOptions, type RelayStatus } from './relay';
export { OUTBOX_PARTITIONS, RELAY_LOCKS } from './partitions';
