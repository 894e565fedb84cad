import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FaultRecord } from '../../scripts/chaos/faults';
import { buildReport, coverageGaps } from '../../scripts/chaos/report';

/** A run's report from made-up fault records, with nothing else going wrong. */
function report(kinds: Parameters<typeof buildReport>[0]['kinds'], faults: FaultRecord[]) {
  return buildReport({
    seed: 1,
    topology: 'dev',
    kinds,
    replay: 'npm run chaos -- --seed 1',
    planned: 1,
    acknowledged: 1,
    db: undefined,
    faults,
    poison: 0,
    duplicates: 0,
    checks: [],
    extraViolations: [],
    quiescence: { quiet: true, tookMs: 0, backlog: {} },
    unexpectedExits: [],
    restarts: {},
    durationMs: { faults: 0, total: 0 },
  });
}

const fault = (kind: FaultRecord['kind'], injected: boolean, target?: string): FaultRecord => ({
  kind,
  target,
  atMs: 0,
  tookMs: 0,
  injected,
});

describe('chaos report: the verdict counts faults that never happened', () => {
  it('passes when every selected kind was injected and every armed crash point hit', () => {
    const r = report(
      ['sigkill', 'crash-point'],
      [fault('sigkill', true, 'api'), fault('crash-point', true, 'relay-1 relay.after-ack')],
    );
    assert.equal(r.violations, 0);
    assert.equal(r.checks.length, 0);
  });

  it('a kind selected but never injected, or never even attempted, is a violation', () => {
    const r = report(['sigkill', 'net-hold', 'net-cut'], [fault('sigkill', true), fault('net-hold', false)]);
    assert.equal(r.violations, 2);
    assert.equal(r.checks[0]?.id, 0);
    assert.deepEqual(r.checks[0]?.examples, [
      'fault net-hold selected but never injected (0 of 1 attempts)',
      'fault net-cut selected but never injected (0 of 0 attempts)',
    ]);
  });

  it('a crash point armed but never hit is a violation, beside its kind never injected', () => {
    const r = report(
      ['crash-point'],
      [
        fault('crash-point', true, 'api api.after-commit'),
        fault('crash-point', false, 'audit subscriber.after-commit'),
      ],
    );
    assert.deepEqual(r.crashPoints['subscriber.after-commit'], { armed: 1, hit: 0 });
    assert.equal(r.violations, 1);
    assert.match(
      r.checks[0]?.examples[0] ?? '',
      /crash point subscriber\.after-commit armed 1 time\(s\) but never hit/,
    );
  });

  it('adds to the run-itself violations rather than replacing them', () => {
    assert.deepEqual(
      coverageGaps({ sigkill: { injected: 3, attempted: 3 } }, { 'api.after-commit': { armed: 0, hit: 0 } }),
      [],
    );
    const r = buildReport({
      ...{ seed: 1, topology: 'dev', replay: '', planned: 0, acknowledged: 0, db: undefined, poison: 0, duplicates: 0 },
      kinds: ['sigstop'],
      faults: [],
      checks: [],
      extraViolations: ['no quiescence within 90s'],
      quiescence: { quiet: false, tookMs: 90_000, backlog: {} },
      unexpectedExits: [],
      restarts: {},
      durationMs: { faults: 0, total: 0 },
    });
    assert.equal(r.violations, 2);
    assert.equal(r.checks[0]?.examples[0], 'no quiescence within 90s');
  });
});
