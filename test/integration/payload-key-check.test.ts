import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { ConfigError, DEV_PAYLOAD_KEY, repoRoot, type Config } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { EncryptionCodec, type PayloadKeys } from '../../lib/payload-codec';
import { checkPayloadKeys, SAGA_WORKFLOW_TYPE } from '../../lib/payload-key-check';
import { createTemporalClient } from '../../lib/temporal';
import { eventually, testConfig } from '../support/services';

const logger = createLogger('payload-key-check-test', 'silent');
const DEV_KEYS = { keys: [DEV_PAYLOAD_KEY], currentKeyId: DEV_PAYLOAD_KEY.id, usingDevKey: true };

// Against the stack's real Temporal: sagas started under a key, then read by the start-up check
// with the right key, a wrong key of the same id, a new key only, and rotated keys.
describe('the start-up payload key check, against the real Temporal', () => {
  let config: Config;
  let writer: Client;
  const k1 = { id: `k1-${randomUUID().slice(0, 8)}`, key: randomBytes(32) };
  const k2 = { id: `k2-${randomUUID().slice(0, 8)}`, key: randomBytes(32) };
  const ids: string[] = [];
  const narrowTo = () => `(${ids.map((id) => `WorkflowId = '${id}'`).join(' OR ')})`;
  const check = (keys: PayloadKeys) =>
    checkPayloadKeys(writer, new EncryptionCodec(keys), {
      namespace: config.temporal.namespace,
      workflowType: SAGA_WORKFLOW_TYPE,
      logger,
      narrowTo: narrowTo(),
    });

  before(async () => {
    config = testConfig();
    writer = await createTemporalClient({
      ...config.temporal,
      payloadKeys: { keys: [k1], currentKeyId: k1.id, usingDevKey: false },
    });
    // Sagas no worker polls for (their own task queue): they stay running, their input under k1.
    for (let i = 0; i < 2; i++) {
      const workflowId = `key-check-${randomUUID()}`;
      await writer.workflow.start(SAGA_WORKFLOW_TYPE, {
        workflowId,
        taskQueue: `key-check-${randomUUID()}`,
        args: [{ customer: 'Ada Lovelace', line1: '12 Key Street' }],
      });
      ids.push(workflowId);
    }
    // Visibility lags the start by a moment.
    await eventually(
      async () => ((await check({ keys: [k1], currentKeyId: k1.id })).sagasRead === 2 ? true : undefined),
      15_000,
      'both sagas to be listed',
    );
  });

  after(async () => {
    for (const id of ids)
      await writer?.workflow
        .getHandle(id)
        .terminate('test over')
        .catch(() => undefined);
    await writer?.connection.close();
  });

  it('verifies the key the sagas were written with', async () => {
    const result = await check({ keys: [k1], currentKeyId: k1.id });
    assert.deepEqual(
      result.verified.map((v) => v.keyId),
      [k1.id],
    );
  });

  it('refuses a well-formed key of the same id that is not that key, naming the id and never a key', async () => {
    const wrong = { id: k1.id, key: randomBytes(32) };
    await assert.rejects(check({ keys: [wrong], currentKeyId: k1.id }), (err: Error) => {
      assert.ok(err instanceof ConfigError, `a ConfigError, got ${err.name}`);
      assert.match(err.message, new RegExp(`key ${k1.id}`));
      assert.ok(
        !err.message.includes(wrong.key.toString('base64')) && !err.message.includes(k1.key.toString('base64')),
      );
      return true;
    });
  });

  it('lets a process without the running sagas’ key id start (another worker may hold it)', async () => {
    const result = await check({ keys: [k2], currentKeyId: k2.id });
    assert.deepEqual(result.verified, [], 'nothing to verify k2 against');
    assert.equal(result.sagasRead, 2);
  });

  it('passes a rotated worker: new current key, old key kept', async () => {
    const result = await check({ keys: [k1, k2], currentKeyId: k2.id });
    assert.deepEqual(
      result.verified.map((v) => v.keyId),
      [k1.id],
    );
  });

  it('stops a saga worker process at start-up, exit 2, when its key for the sagas’ key id is wrong', async () => {
    // A saga under the stack's dev key (what the processes of the test stack write with) is the
    // newest the worker reads; the worker is given another key under the same id.
    const devWriter = await createTemporalClient({ ...config.temporal, payloadKeys: DEV_KEYS });
    const workflowId = `key-check-${randomUUID()}`;
    // The worker reads its own task queue's sagas: a queue of this test's, where this saga is the only one.
    const taskQueue = `key-check-${randomUUID()}`;
    try {
      await devWriter.workflow.start(SAGA_WORKFLOW_TYPE, { workflowId, taskQueue, args: [{}] });
      await eventually(
        async () => {
          const listed = await checkPayloadKeys(devWriter, new EncryptionCodec(DEV_KEYS), {
            namespace: config.temporal.namespace,
            workflowType: SAGA_WORKFLOW_TYPE,
            logger,
            narrowTo: `WorkflowId = '${workflowId}'`,
          });
          return listed.sagasRead === 1 ? true : undefined;
        },
        15_000,
        'the saga to be listed',
      );
      const wrong = randomBytes(32).toString('base64');
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'workers/saga-worker.ts'], {
        cwd: repoRoot,
        env: {
          ...process.env,
          PAYLOAD_KEYS: `${DEV_PAYLOAD_KEY.id}=${wrong}`,
          PAYLOAD_KEY_CURRENT: DEV_PAYLOAD_KEY.id,
          TEMPORAL_TASK_QUEUE: taskQueue,
        },
        encoding: 'utf8',
        timeout: 60_000,
      });
      const output = `${r.stdout}${r.stderr}`;
      assert.equal(r.status, 2, `exit status 2, got ${r.status}: ${output.slice(-2000)}`);
      assert.match(output, /PAYLOAD_KEYS does not match the cluster's sagas/);
      assert.match(output, new RegExp(`key ${DEV_PAYLOAD_KEY.id}`));
      assert.ok(!output.includes(wrong), 'the key is never printed');
      assert.ok(!output.includes('saga worker running'), 'it never took tasks');
    } finally {
      await devWriter.workflow
        .getHandle(workflowId)
        .terminate('test over')
        .catch(() => undefined);
      await devWriter.connection.close();
    }
  });
});
