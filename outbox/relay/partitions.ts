import type { Tx } from '../../lib/db';
import type { Logger } from '../../lib/logger';
import { CLAIM_SESSION_SETTINGS } from './claim';

/**
 * Number of outbox partitions. It must equal the modulus of `outbox.partition` in
 * db/migrations/0002_outbox_partitions.sql, and like it never changes with relays running.
 */
export const OUTBOX_PARTITIONS = 64;

/**
 * Advisory locks of the relays (two-int form, so they never collide with the one-bigint locks
 * used elsewhere). Every relay holds `member` shared, which is how relays count each other, and
 * each partition it publishes as `(partitionSpace, partition)` exclusively. They are two
 * namespaces because one would make partition 0 the member key.
 *
 * @example
 * await client.query('SELECT pg_try_advisory_lock($1, $2)', [RELAY_LOCKS.partitionSpace, 7]);
 */
export const RELAY_LOCKS = {
  member: [0x6f75_746d, 0] as const,
  partitionSpace: 0x6f75_7470,
};

/**
 * Server-side keepalives for the relay's session. Without them a relay whose host vanishes (no
 * FIN, no RST) keeps its partitions until the kernel default gives up, about two hours.
 */
const SESSION_SETTINGS = 'SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3';

const LOCKS_IN_THIS_DB = `locktype = 'advisory' AND objsubid = 2
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`;

/**
 * Makes this session a relay member: keepalives and the claim's planner settings on, the shared
 * member lock taken.
 *
 * @returns the session's backend pid, which ties this process to its locks in pg_locks.
 */
export async function joinRelays(client: Tx): Promise<number | undefined> {
  await client.query(`${SESSION_SETTINGS}; ${CLAIM_SESSION_SETTINGS}`);
  const { rows } = await client.query<{ pid: number }>(
    'SELECT pg_backend_pid() AS pid, pg_advisory_lock_shared($1, $2)',
    [...RELAY_LOCKS.member],
  );
  return rows[0]?.pid;
}

/**
 * The partitions one relay holds, as advisory locks on its session, and how many relays share
 * them. The locks live and die with the session; this is the relay's record of them.
 */
export class PartitionOwnership {
  private readonly owned = new Set<number>();
  private memberCount = 0;

  constructor(private readonly logger: Logger) {}

  /** Partitions held, ascending. */
  list(): number[] {
    return [...this.owned].sort((a, b) => a - b);
  }

  get size(): number {
    return this.owned.size;
  }

  /** Relays holding the member lock at the last rebalance, this one included; 0 while disconnected. */
  get members(): number {
    return this.memberCount;
  }

  has(partition: number): boolean {
    return this.owned.has(partition);
  }

  /** Recounts the members, then gives back partitions above this relay's share or takes free ones up to it. */
  async rebalance(client: Tx): Promise<void> {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_locks
       WHERE ${LOCKS_IN_THIS_DB} AND classid = $1::oid AND objid = $2::oid AND granted`,
      [...RELAY_LOCKS.member],
    );
    const members = Math.max(rows[0]?.n ?? 1, 1);
    const share = Math.ceil(OUTBOX_PARTITIONS / members);
    const released: number[] = [];
    const acquired: number[] = [];
    if (this.owned.size > share) {
      const extras = [...this.owned].sort((a, b) => b - a).slice(0, this.owned.size - share);
      await client.query('SELECT pg_advisory_unlock($1, p) FROM unnest($2::int[]) AS p', [
        RELAY_LOCKS.partitionSpace,
        extras,
      ]);
      for (const p of extras) this.owned.delete(p);
      released.push(...extras);
    } else if (this.owned.size < share) {
      acquired.push(...(await this.takeFree(client, share)));
    }
    if (members !== this.memberCount || released.length > 0 || acquired.length > 0) {
      this.logger.info(
        {
          members,
          share,
          owned: this.owned.size,
          acquired: acquired.sort((a, b) => a - b),
          released: released.sort((a, b) => a - b),
        },
        'outbox relay partitions changed',
      );
    }
    this.memberCount = members;
  }

  /**
   * Forgets every partition: the session that held their locks is closed (or about to be), which
   * is what releases them.
   */
  forget(reason: string): void {
    if (this.owned.size > 0) {
      this.logger.info({ released: this.list(), reason }, 'outbox relay released all its partitions');
    }
    this.owned.clear();
    this.memberCount = 0;
  }

  /** Try-locks free partitions until this relay holds `share`; returns the ones it got. */
  private async takeFree(client: Tx, share: number): Promise<number[]> {
    const acquired: number[] = [];
    const { rows: free } = await client.query<{ p: number }>(
      `SELECT p FROM generate_series(0, $2::int - 1) AS p
         WHERE NOT EXISTS (SELECT 1 FROM pg_locks WHERE ${LOCKS_IN_THIS_DB} AND classid = $1::oid AND objid = p::oid)
         ORDER BY random()`,
      [RELAY_LOCKS.partitionSpace, OUTBOX_PARTITIONS],
    );
    // Random order, so relays starting together mostly try different partitions; a partition
    // taken by someone else in the meantime just fails its try-lock and the next one is tried.
    const candidates = free.map((r) => r.p);
    while (this.owned.size < share && candidates.length > 0) {
      const attempt = candidates.splice(0, share - this.owned.size);
      const { rows: tried } = await client.query<{ p: number; ok: boolean }>(
        'SELECT p, pg_try_advisory_lock($1, p) AS ok FROM unnest($2::int[]) AS p',
        [RELAY_LOCKS.partitionSpace, attempt],
      );
      for (const t of tried) {
        if (!t.ok) continue;
        this.owned.add(t.p);
        acquired.push(t.p);
      }
    }
    return acquired;
  }
}
