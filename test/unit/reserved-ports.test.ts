import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../lib/config';
import { HA_PORTS } from '../../scripts/stack/ha/topology';
import { parsePortList, stackPorts } from '../../scripts/stack/reserved-ports';

describe('the stack ports kept out of the ephemeral range', () => {
  it('reads the kernel’s list of reserved ports, ranges included', () => {
    assert.deepEqual([...parsePortList('55432,55462-55464\n')], [55432, 55462, 55463, 55464]);
    assert.deepEqual([...parsePortList('\n')], []);
  });

  it('covers the configured stack and every copy of the HA topology', () => {
    const ports = stackPorts(loadConfig({}));
    for (const port of [55432, 4222, 7233, HA_PORTS.postgres, ...HA_PORTS.postgresNodes, 55472, 55482])
      assert.ok(ports.includes(port), `${port} is reserved`);
  });
});
