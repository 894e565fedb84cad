import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CRASH_POINT_NAMES } from '../../lib/crash-points';
import { planCrashPoints } from '../../scripts/chaos/crash-plan';
import { planFaults, PROCESSES } from '../../scripts/chaos/plan';

describe('chaos crash points', () => {
  it('arms every crash point once, in a process that runs it, within the first half of the window', () => {
    for (const seed of [1, 19, 42]) {
      const planned = planCrashPoints(seed, 45_000);
      assert.deepEqual(
        planned.map((f) => (f.kind === 'crash-point' ? f.point : '')).sort(),
        [...CRASH_POINT_NAMES].sort(),
      );
      for (const f of planned) {
        assert.ok(f.atMs < 22_500, `seed ${seed}: ${JSON.stringify(f)}`);
        assert.ok(
          'target' in f && PROCESSES.some((p) => p.name === f.target),
          `seed ${seed}: unknown target in ${JSON.stringify(f)}`,
        );
      }
    }
  });

  it('is part of the fault plan, and replays from the seed', () => {
    assert.deepEqual(planFaults(7, 60_000).crash, planFaults(7, 60_000).crash);
    assert.equal(planFaults(7, 60_000).crash.length, CRASH_POINT_NAMES.length);
  });
});
