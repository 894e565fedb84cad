import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { checkoutSaga } from '../../workflows/checkout-saga';
import { createTimeSkippingEnv } from '../support/test-env';
import { HISTORIES_DIR } from './histories-dir';
import { HISTORY_SCENARIOS } from './history-scenarios';
import { withSaga } from '../support/saga-harness';

/**
 * `npm run histories:record -- --label v2 [--only cancel-while-charging]`: runs each scenario of
 * the saga on the time-skipping server with mocked activities and saves its event history as
 * `<label>-<scenario>.json`. Record with a new label whenever the workflow changes; never delete
 * the files of a label that may still have running executions, so CI keeps replaying them.
 */
const { values } = parseArgs({ options: { label: { type: 'string' }, only: { type: 'string', multiple: true } } });
if (!values.label || !/^[a-z0-9-]+$/.test(values.label)) {
  console.error('usage: npm run histories:record -- --label <label> [--only <scenario> ...]');
  process.exit(2);
}
mkdirSync(HISTORIES_DIR, { recursive: true });
const env: TestWorkflowEnvironment = await createTimeSkippingEnv();
try {
  for (const scenario of HISTORY_SCENARIOS) {
    if (values.only && !values.only.includes(scenario.name)) continue;
    let handle: WorkflowHandle<typeof checkoutSaga> | undefined;
    await withSaga(env, scenario.script, scenario.input(), async (h) => {
      handle = h;
      await scenario.drive(h, env);
    });
    if (!handle) throw new Error(`scenario ${scenario.name} did not start`);
    const file = join(HISTORIES_DIR, `${values.label}-${scenario.name}.json`);
    writeFileSync(file, `${historyToJSON(await handle.fetchHistory())}\n`);
    console.log(`recorded ${file}`);
  }
} finally {
  await env.teardown();
}
