import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseChaosArgs, replayCommand, type ChaosArgs } from '../../scripts/chaos/args';
import { DEV_INFRA_KINDS, HA_INFRA_KINDS, planFaults, type PlannedFault } from '../../scripts/chaos/plan';

function count(faults: readonly PlannedFault[], kind: string): number {
  return faults.filter((f) => f.kind === kind).length;
}

describe('chaos fault plan', () => {
  it('plans the --ha run the issue asks for within five minutes: three NATS kills (two of leaders), two Temporal kills, one failover', () => {
    for (const seed of [1, 7, 42, 1234, 99_999]) {
      const { infra } = planFaults(seed, 300_000, 'ha');
      const natsKills = count(infra, 'nats-node-sigkill') + count(infra, 'nats-leader-sigkill');
      assert.ok(natsKills >= 3, `seed ${seed}: ${natsKills} NATS node kills`);
      assert.ok(count(infra, 'nats-leader-sigkill') >= 2, `seed ${seed}: leader kills`);
      assert.ok(count(infra, 'temporal-sigkill') >= 2, `seed ${seed}: Temporal kills`);
      assert.equal(count(infra, 'postgres-failover'), 1, `seed ${seed}: exactly one failover`);
      assert.ok(count(infra, 'nats-node-sigstop') >= 1, `seed ${seed}: a frozen node`);
    }
  });

  it("uses only the topology's own infrastructure faults, in time order", () => {
    const ha = planFaults(5, 300_000, 'ha').infra;
    const dev = planFaults(5, 300_000, 'dev').infra;
    assert.ok(ha.every((f) => (HA_INFRA_KINDS as readonly string[]).includes(f.kind)));
    assert.ok(dev.every((f) => (DEV_INFRA_KINDS as readonly string[]).includes(f.kind)));
    for (const lane of [ha, dev])
      assert.deepEqual(
        lane.map((f) => f.atMs),
        [...lane.map((f) => f.atMs)].sort((a, b) => a - b),
      );
  });

  it('draws the same plan from the same seed, and the dev plan is the one earlier versions drew', () => {
    assert.deepEqual(planFaults(42, 120_000, 'ha'), planFaults(42, 120_000, 'ha'));
    // The process, pause and message lanes do not depend on the topology (network faults are the dev stack's).
    const { infra: _ha, network: haNet, ...haRest } = planFaults(42, 120_000, 'ha');
    const { infra: _dev, network: _devNet, ...devRest } = planFaults(42, 120_000, 'dev');
    assert.deepEqual(haRest, devRest);
    assert.deepEqual(haNet, []);
  });

  it('parses --ha into the HA topology, its own stack folder and API port, and replays with --ha', () => {
    const args = parseChaosArgs(['--ha', '--seed', '3', '--orders', '10', '--duration', '60']) as ChaosArgs;
    assert.equal(args.topology, 'ha');
    assert.match(args.stackDir, /chaos-ha$/);
    assert.equal(args.ports.api, 3072);
    assert.match(replayCommand(args), /^npm run chaos -- --ha --seed 3 /);
    const dev = parseChaosArgs(['--seed', '3']) as ChaosArgs;
    assert.equal(dev.topology, 'dev');
    assert.doesNotMatch(replayCommand(dev), /--ha/);
  });
});
