import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createApp } from '../../api/app';
import { createHttpMetrics } from '../../api/metrics';
import type { CheckoutService } from '../../checkouts/service';
import { isConnectionFailure, type Db } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { serviceTokenAccess } from '../support/api';

type Operation = { responses: Record<string, { headers?: Record<string, unknown> }> };

async function openApiDocument(): Promise<{ paths: Record<string, Record<string, Operation>> }> {
  const app = createApp({
    db: {} as Db,
    checkouts: {} as CheckoutService,
    ...serviceTokenAccess({} as Db, 'unit-token-0123456789abcdef'),
    readiness: {},
    logger: createLogger('openapi-statuses-test', 'silent'),
    metrics: createHttpMetrics(),
  });
  return (await (await app.request('/openapi.json')).json()) as { paths: Record<string, Record<string, Operation>> };
}

const coded = (code: string, message = code) => Object.assign(new Error(message), { code });

describe('statuses the request gate answers on any route are declared on every operation', () => {
  it('every operation declares 405 with Allow (its path under another method)', async () => {
    const doc = await openApiDocument();
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        assert.ok(
          operation.responses['405']?.headers?.Allow,
          `${method.toUpperCase()} ${path} declares 405 with Allow`,
        );
      }
    }
  });

  it('every operation whose method carries a body declares 413 (the limit applies to a body it does not read)', async () => {
    const doc = await openApiDocument();
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        if (['post', 'put', 'patch', 'delete'].includes(method))
          assert.ok(operation.responses['413'], `${method.toUpperCase()} ${path} declares 413`);
      }
    }
  });
});

describe('isConnectionFailure: PostgreSQL unreachable, as pg and pg-pool report it', () => {
  it('recognises refused, timed-out, shut-down and cut connections', () => {
    for (const err of [
      coded('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'),
      coded('ECONNRESET'),
      coded('57P01', 'terminating connection due to administrator command'),
      coded('57P03', 'the database system is starting up'),
      coded('08006', 'connection failure'),
      coded('08001'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Connection terminated due to connection timeout', { cause: new Error('Connection terminated') }),
      new Error('Connection terminated unexpectedly'),
      new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')], 'connect failed'),
      new Error('wrapped', { cause: coded('ECONNREFUSED') }),
    ])
      assert.equal(isConnectionFailure(err), true, err.message);
  });

  it('leaves statement errors and everything else to the 500', () => {
    for (const err of [
      coded('23505', 'duplicate key value violates unique constraint'),
      coded('42P01', 'relation "x" does not exist'),
      coded('55P03', 'lock not available'),
      coded('ERR_SOMETHING'),
      new Error('boom'),
      'ECONNREFUSED',
      undefined,
    ])
      assert.equal(isConnectionFailure(err), false, String(err));
  });
});
