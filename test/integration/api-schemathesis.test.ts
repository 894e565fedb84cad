import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot, type Config } from '../../lib/config';
import { installedPythonTool } from '../../scripts/stack';
import { startApi } from '../support/api';
import { RunningComponents } from '../support/components';
import { stopProcess, TestProcesses } from '../support/processes';
import { testConfig, testDb, testLogger } from '../support/services';

/**
 * The API fuzzed from its own OpenAPI document by Schemathesis (pinned in
 * scripts/python/requirements.txt), as another team would run it against an API it calls: every
 * operation, positive and negative data, examples, coverage, fuzzing and stateful phases, with a
 * service token. It must find nothing: no 5xx, no status the document does not declare for the
 * operation, no body outside its schema, no undeclared content type or header. Bounded by the
 * examples per operation (well under 2 minutes); the seed is fixed so a finding replays.
 */

const TOKEN = 'schemathesis-token-0123456789abcdef';
const SEED = '20261120';
/** Kills a run that overstays, so a hung fuzzer fails the test instead of stalling the suite. */
const DEADLINE_MS = 150_000;
const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'response_schema_conformance',
  'content_type_conformance',
  'response_headers_conformance',
];

describe('the OpenAPI document, fuzzed by Schemathesis against the live API', () => {
  const components = new RunningComponents();
  const processes = new TestProcesses();
  let config: Config;
  let base = '';

  before(async () => {
    // The sagas of the orders the fuzzer places go to this suite's own task queue, which no worker polls.
    config = testConfig({ PORT: '0', API_TOKENS: TOKEN });
    await (await testDb(config)).end();
    const api = startApi(config, testLogger('schemathesis'), components.signal);
    components.add(api.running);
    base = await api.base;
  });

  after(async () => {
    await processes.killAll();
    await components.stopAll();
  });

  it('finds no server error, undeclared status, response outside its schema or wrong content type', async () => {
    const st = installedPythonTool(config.stack.cacheDir, 'st');
    // Schemathesis and Hypothesis keep their caches in the working directory: an ignored one.
    const workDir = join(repoRoot, 'test-results', 'schemathesis');
    mkdirSync(workDir, { recursive: true });
    const run = processes.startExecutable(
      'schemathesis',
      st,
      [
        'run',
        `${base}/openapi.json`,
        '--checks',
        CHECKS.join(','),
        '--header',
        `Authorization: Bearer ${TOKEN}`,
        '--max-examples',
        '8',
        '--seed',
        SEED,
        '--workers',
        '2',
        '--request-timeout',
        '20',
        '--no-color',
      ],
      workDir,
    );
    const timer = setTimeout(() => void stopProcess(run, 'SIGKILL'), DEADLINE_MS);
    const exit = await run.exited.finally(() => clearTimeout(timer));
    const output = run.lines.join('\n');
    assert.deepEqual(exit, { code: 0, signal: null }, `schemathesis found problems:\n${output.slice(-6_000)}`);
    // Not a run that tested nothing: every operation was exercised and cases passed.
    const selected = /Selected: (\d+)\/(\d+)/.exec(output);
    assert.equal(selected?.[1], selected?.[2], 'every operation of the document was selected');
    assert.equal(/Tested: (\d+)/.exec(output)?.[1], selected?.[2], 'every operation was tested');
    const cases = /(\d+) generated, (\d+) passed/.exec(output);
    assert.ok(Number(cases?.[1]) > 100, `test cases: ${cases?.[0]}`);
    assert.equal(cases?.[1], cases?.[2]);
  });
});
