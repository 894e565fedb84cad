import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { HA_INFRA_KINDS } from '../../scripts/chaos/plan';
import type { ChaosReport } from '../../scripts/chaos/report';
import { runChaos } from '../support/chaos-run';

// A fixed seed whose 90 s window holds every fault of the topology (the plan puts each early).
const SEED = 7;
const RUN_TIMEOUT_MS = 600_000;

test(
  'a short chaos run on the HA topology (NATS node and leader kills, a frozen node, Temporal server SIGKILLs, a PostgreSQL failover) keeps every invariant',
  { timeout: RUN_TIMEOUT_MS + 30_000 },
  async () => {
    const report = join(mkdtempSync(join(tmpdir(), 'chaos-ha-test-')), 'report.json');
    const { code, output } = await runChaos(
      [
        '--ha',
        '--seed',
        String(SEED),
        '--orders',
        '40',
        '--duration',
        '90',
        '--quiesce-timeout',
        '180',
        '--report',
        report,
      ],
      RUN_TIMEOUT_MS,
    );
    assert.equal(code, 0, `chaos --ha run failed (exit ${code}):\n${output.slice(-8_000)}`);
    const r = JSON.parse(readFileSync(report, 'utf8')) as ChaosReport;
    assert.equal(r.topology, 'ha');
    assert.equal(r.violations, 0);
    assert.ok(r.checks.every((c) => c.pass));
    assert.equal(r.orders.acknowledged, 40);
    for (const kind of HA_INFRA_KINDS)
      assert.ok((r.faults.byKind[kind]?.injected ?? 0) >= 1, `fault ${kind} was never injected`);
    assert.equal(r.faults.byKind['nats-sigterm'], undefined, 'no fault of the single-node stack');
  },
);
