import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CRASH_POINT_NAMES } from '../../lib/crash-points';
import { planCrashPoints } from '../../scripts/chaos/crash-plan';
import { HOPS, NET_KINDS, planNetwork } from '../../scripts/chaos/net-plan';
import { toxicFor } from '../../scripts/chaos/network';
import { parseChaosArgs, replayCommand, type ChaosArgs } from '../../scripts/chaos/args';
import { onlyKinds, planFaults, PROCESSES, type PlannedFault } from '../../scripts/chaos/plan';

describe('chaos crash points', () => {
  it('arms every crash point once, in a process that runs it, for the whole window', () => {
    for (const seed of [1, 19, 42]) {
      const planned = planCrashPoints(45_000);
      assert.deepEqual(
        planned.map((f) => (f.kind === 'crash-point' ? f.point : '')).sort(),
        [...CRASH_POINT_NAMES].sort(),
      );
      for (const f of planned) {
        assert.ok(f.kind === 'crash-point' && f.waitMs === 45_000, `seed ${seed}: ${JSON.stringify(f)}`);
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

describe('chaos network faults', () => {
  it('plans every network kind once within a 45 s window, each on a hop its process uses, healed inside the window', () => {
    for (const seed of [1, 19, 42, 1234]) {
      const network = planNetwork(seed, 45_000);
      assert.deepEqual([...new Set(network.map((f) => f.kind))].sort(), [...NET_KINDS].sort(), `seed ${seed}`);
      for (const f of network) {
        assert.ok(HOPS[f.target].includes(f.dependency), `seed ${seed}: ${JSON.stringify(f)}`);
        assert.ok(f.atMs + f.durationMs <= 45_000, `seed ${seed}: ${JSON.stringify(f)}`);
      }
      const cut = network.find((f) => f.kind === 'net-cut');
      assert.ok(cut && cut.durationMs >= 12_000, `seed ${seed}: a cut outlasts the clients' timeouts`);
      const latency = network.find((f) => f.kind === 'net-latency');
      assert.ok(latency && latency.amount > 5_000, `seed ${seed}: latency beyond the 5 s timeouts`);
    }
  });

  it('gives each kind its toxic: latency, reset_peer, timeout, bandwidth, limit_data; a cut disables the hop', () => {
    const base = { atMs: 0, target: 'api' as const, dependency: 'postgres' as const, durationMs: 1_000, amount: 7_000 };
    const types = NET_KINDS.map((kind) => toxicFor({ ...base, kind })?.type);
    assert.deepEqual(types, ['latency', 'reset_peer', 'timeout', 'bandwidth', 'limit_data', undefined]);
  });
});

describe('chaos --faults', () => {
  it('keeps only the chosen kinds, with the same draws, and replays with them', () => {
    const args = parseChaosArgs(['--seed', '5', '--faults', 'net-cut,sigkill']) as ChaosArgs;
    assert.deepEqual(args.faults, ['net-cut', 'sigkill']);
    assert.match(replayCommand(args), /--faults net-cut,sigkill$/);
    const all = planFaults(5, 60_000);
    const some = onlyKinds(all, args.faults);
    const kinds = new Set(Object.values(some).flatMap((lane: PlannedFault[]) => lane.map((f) => f.kind)));
    assert.deepEqual([...kinds].sort(), ['net-cut', 'sigkill']);
    assert.deepEqual(some.process, all.process);
    assert.doesNotMatch(replayCommand(parseChaosArgs(['--seed', '5']) as ChaosArgs), /--faults/);
  });

  it('refuses an unknown kind, and a kind of the other topology', () => {
    assert.throws(() => parseChaosArgs(['--faults', 'net-cut,meteor']), /--faults expects kinds among/);
    assert.throws(() => parseChaosArgs(['--ha', '--faults', 'net-cut']), /--faults expects kinds among/);
  });
});
