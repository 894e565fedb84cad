import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { principalEnv } from '../../access/env';
import type { Config } from '../../lib/config';
import { createDb, withTransaction, type Db } from '../../lib/db';
import { dropUnstartedSaga, lockUnstartedSaga } from '../../starter/queue';
import { testConfig, testDb } from '../support/services';

// Found by the chaos runner (issue 19): a cancel while the saga could not answer falls back to
// cancelling before the start, which locks the queued start with SELECT ... FOR UPDATE. That
// needs UPDATE on saga_starts, which the API's role lacked: every such cancel answered 500.
describe('the API role can cancel an order whose saga has not started', () => {
  let config: Config;
  let owner: Db;
  let api: Db;

  before(async () => {
    config = testConfig();
    owner = await testDb(config);
    const url = principalEnv('api', config.stack.dir, config.database.url).DATABASE_URL;
    assert.ok(url, 'the api principal has a PostgreSQL role');
    api = createDb(url, { max: 2, applicationName: 'api-role-cancel-test', timeouts: config.database.timeouts });
  });
  after(async () => {
    await api?.end();
    await owner?.end();
  });

  it('locks and drops a queued saga start as the api role', async () => {
    const orderId = randomUUID();
    await withTransaction(api, async (tx) => {
      assert.equal(await lockUnstartedSaga(tx, orderId), false);
      await tx.query('SELECT 1 FROM orders WHERE id = $1 FOR UPDATE', [orderId]);
      await tx.query('SELECT 1 FROM stock_reservations WHERE order_id = $1', [orderId]);
      await dropUnstartedSaga(tx, orderId);
    });
  });
});
