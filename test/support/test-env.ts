import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import proto from '@temporalio/proto';
import { loadConfig, type Config } from '../../lib/config';
import { testDataConverter } from './payload-keys';

/** Version of the Java time-skipping test server the stack scripts install (scripts/test-server/pom.xml). */
export const TEST_SERVER_VERSION = '1.38.0';

/** Path of the offline test-server wrapper, if the stack scripts installed one. */
export function testServerPath(config: Config): string | undefined {
  const candidate =
    config.temporal.testServerPath ?? join(config.stack.binDir, `temporal-test-server-${TEST_SERVER_VERSION}`);
  return existsSync(candidate) ? candidate : undefined;
}

// The SDK's core gives the server a fixed 5 s to accept connections; a JVM starting while the
// rest of the suite loads both cores can miss it (CI cancelled a whole file this way). Another
// attempt on a fresh port is the only lever; any other error is not retried.
const START_ATTEMPTS = 3;

async function startWithRetry(start: () => Promise<TestWorkflowEnvironment>): Promise<TestWorkflowEnvironment> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await start();
    } catch (err) {
      const slowStart = err instanceof Error && /did not start within/.test(err.message);
      if (!slowStart || attempt >= START_ATTEMPTS) throw err;
    }
  }
}

/**
 * A time-skipping Temporal environment: the offline Java test server when installed
 * (`npm test` installs it), else the SDK's own download, which needs internet.
 */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const config = loadConfig();
  const path = testServerPath(config);
  const env = await startWithRetry(() =>
    TestWorkflowEnvironment.createTimeSkipping({
      ...(path ? { server: { executable: { type: 'existing-path', path } } } : {}),
      // Encrypted like production, with the test key, so recorded histories hold no plaintext.
      client: { dataConverter: testDataConverter() },
    }),
  );
  // The saga upserts these; a server that does not know them fails every workflow task.
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: {
      OrderStatus: proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      CustomerId: proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      CompensationStuck: proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
    },
  });
  return env;
}

/**
 * One time-skipping environment for the tests of the enclosing describe(): created in its before()
 * and torn down in its after(). Read `.env` inside tests and hooks, where it exists.
 *
 * @example
 * const suite = timeSkippingSuite();
 * it('…', async () => { await withSaga(suite.env, {}, sagaInput(), (h) => h.result()); });
 */
export function timeSkippingSuite(): { readonly env: TestWorkflowEnvironment } {
  let env: TestWorkflowEnvironment | undefined;
  before(async () => {
    env = await createTimeSkippingEnv();
  });
  after(async () => {
    await env?.teardown();
  });
  return {
    get env(): TestWorkflowEnvironment {
      if (!env) throw new Error('the time-skipping environment exists only inside tests and hooks');
      return env;
    },
  };
}
