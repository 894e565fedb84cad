import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import { historyFromJSON, payloadToJSON, type History } from '@temporalio/common/lib/proto-utils';
import { EncryptionCodec } from '../../lib/payload-codec';
import { payloadSets, printablePayload, printableSets } from '../../lib/saga-history';

describe('a saga history for printing (npm run saga:show)', () => {
  const codec = new EncryptionCodec({ keys: [{ id: 'k1', key: randomBytes(32) }], currentKeyId: 'k1' });
  const input = { orderId: 'o-1', shippingAddress: { name: 'Grace Hopper', line1: '1 Compiler Lane' } };
  const sealed = async (value: unknown) => ({
    payloads: (await codec.encode([defaultPayloadConverter.toPayload(value)])).map(payloadToJSON),
  });

  // Built as a JSON history file is (event ids are int64 strings there), then read as the SDK does.
  const history = async (): Promise<History> =>
    historyFromJSON({
      events: [
        { eventId: '1', workflowExecutionStartedEventAttributes: { input: await sealed(input) } },
        { eventId: '2', workflowTaskScheduledEventAttributes: {} },
        {
          eventId: '5',
          activityTaskScheduledEventAttributes: {
            activityType: { name: 'reserveInventory' },
            input: await sealed({ orderId: 'o-1' }),
          },
        },
        { eventId: '9', workflowExecutionCompletedEventAttributes: { result: await sealed('COMPLETED') } },
      ],
    });

  it('lists the input, each activity input and the result, in history order', async () => {
    const sets = payloadSets(await history());
    assert.deepEqual(
      sets.map((s) => [s.eventId, s.kind, s.activity]),
      [
        [1, 'workflow input', undefined],
        [5, 'activity input', 'reserveInventory'],
        [9, 'workflow result', undefined],
      ],
    );
  });

  it('shows stored payloads as encrypted metadata and base64 ciphertext, with no plaintext', async () => {
    const [started] = await printableSets(payloadSets(await history()));
    const payload = started?.payloads[0];
    assert.deepEqual(payload?.metadata, { encoding: 'binary/encrypted', 'encryption-key-id': 'k1' });
    assert.match(payload?.dataBase64 ?? '', /^[A-Za-z0-9+/]+=*$/);
    assert.equal(payload?.data, undefined);
    assert.ok(!JSON.stringify(started).includes('Grace Hopper'));
    assert.ok(
      !Buffer.from(payload?.dataBase64 ?? '', 'base64')
        .toString('latin1')
        .includes('Grace Hopper'),
    );
  });

  it('shows decoded payloads as their JSON', async () => {
    const sets = await printableSets(payloadSets(await history()), codec);
    assert.deepEqual(sets[0]?.payloads, [{ metadata: { encoding: 'json/plain' }, data: input }]);
    assert.deepEqual(sets[2]?.payloads[0]?.data, 'COMPLETED');
    assert.deepEqual(printablePayload(defaultPayloadConverter.toPayload(undefined)), {
      metadata: { encoding: 'binary/null' },
      data: null,
    });
  });

  it('fails to decode under a key it lacks, naming the key id only', async () => {
    const other = new EncryptionCodec({ keys: [{ id: 'k2', key: randomBytes(32) }], currentKeyId: 'k2' });
    await assert.rejects(
      printableSets(payloadSets(await history()), other),
      /key "k1", which this process does not have/,
    );
  });
});
