import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createInventoryActivities } from '../../activities/inventory';
import { cancelBeforeStart } from '../../checkouts/cancel-before-start';
import type { Config } from '../../lib/config';
import type { Db } from '../../lib/db';
import { randomIds, systemClock } from '../../lib/runtime';
import { startApi } from '../support/api';
import { checkoutClient, queuedStarts } from '../support/checkouts';
import { RunningComponents } from '../support/components';
import { freshSku, testConfig, testDb, testLogger } from '../support/services';

const TOKEN = 'unrecorded-start-token-0123456789';

// Found by the chaos runner (issue 19, seed 7): the saga starter died after Temporal accepted a
// start and before recording it (crash point saga-starter.after-start), so the order stayed
// queued while its saga ran; the saga's reserveStock committed; then a cancel took the
// before-the-saga path (the queue row said "not started"), marked the order CANCELLED and dropped
// nothing the saga had done: the saga went on to charge and ship a CANCELLED order.
describe('a cancel after an unrecorded saga start that already reserved', () => {
  const components = new RunningComponents();
  let config: Config;
  let db: Db;
  let orderId = '';

  before(async () => {
    config = testConfig({ API_TOKENS: TOKEN, PORT: '0' });
    db = await testDb(config);
    const running = startApi(config, testLogger('unrecorded-start'), components.signal, { sagaStarter: false });
    components.add(running.running);
    const api = checkoutClient(await running.base, TOKEN);
    const sku = await freshSku(db, 5);
    ({ orderId } = await api.place({ customerId: 'cust-unrecorded', sku, method: 'pm_card_visa' }));
    assert.deepEqual(await queuedStarts(db, [orderId]), [orderId], 'the start is still queued');
    // The saga that was started without being recorded: its first step commits.
    await createInventoryActivities({ db, clock: systemClock, ids: randomIds }).reserveStock({ orderId });
  });
  after(async () => {
    await components.stopAll();
    await db?.end();
  });

  it('is not applied before the saga: the saga must be asked, and the order is not CANCELLED behind its back', async () => {
    const cancelled = await cancelBeforeStart({ db, clock: systemClock, ids: randomIds }, orderId);
    assert.equal(cancelled, undefined);
    const { rows } = await db.query<{ status: string }>('SELECT status FROM orders WHERE id = $1', [orderId]);
    assert.notEqual(rows[0]?.status, 'CANCELLED');
  });
});
