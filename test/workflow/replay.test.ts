import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../../workers/saga-worker';
import { HISTORIES_DIR } from './histories-dir';
import { plainPayloadPaths } from './history-payloads';
import { testDataConverter } from '../support/payload-keys';

/**
 * Every recorded history (every path, every workflow version still possibly running) replays
 * against today's workflow code. A change that is not deterministic for them fails here, before
 * it can break executions in production. See docs/workflow-changes.md.
 */
describe('checkoutSaga replays every recorded history', () => {
  const files = readdirSync(HISTORIES_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort();

  it('has histories of every path to replay', () => {
    assert.ok(files.length >= 4, `found ${files.length} histories in ${HISTORIES_DIR}`);
  });

  it('holds customer data only encrypted: every payload a codec sees is binary/encrypted', () => {
    const plain = files.flatMap((file) =>
      plainPayloadPaths(JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8'))).map((p) => `${file}: ${p}`),
    );
    assert.deepEqual(plain, [], 'run `npm run histories:encrypt`');
  });

  it('replays each without a determinism error', async () => {
    const histories = files.map((file) => ({
      workflowId: file.replace(/\.json$/, ''),
      history: historyFromJSON(JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8'))),
    }));
    const failures: string[] = [];
    let replayed = 0;
    for await (const result of Worker.runReplayHistories(
      { workflowsPath: WORKFLOWS_PATH, dataConverter: testDataConverter() },
      histories,
    )) {
      replayed += 1;
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    assert.equal(replayed, files.length);
    assert.deepEqual(failures, []);
  });
});
