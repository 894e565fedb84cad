import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { loadConfig } from '../../lib/config';
import { stackLayout } from '../../scripts/stack/layout';
import type { HaContext } from '../../scripts/stack/ha/context';
import { natsNodeConf, natsNodes } from '../../scripts/stack/ha/nats-cluster';
import { proxyConf } from '../../scripts/stack/ha/pg-proxy';
import type { PgNode } from '../../scripts/stack/ha/postgres-nodes';
import { temporalServerConfig } from '../../scripts/stack/ha/temporal-server';
import { temporalUiConfig } from '../../scripts/stack/ha/temporal-ui';
import { HA_PORTS, haStackEnv, shiftHaPorts } from '../../scripts/stack/ha/topology';

// The generated configs of the HA stack, checked as text/YAML; `npm run test:ha` runs them for real.
const env = haStackEnv(HA_PORTS, '/tmp/checkout-ha-unit');
const config = loadConfig({ ...env, STACK_CACHE_DIR: '/tmp/checkout-ha-unit-cache' });
const ctx: HaContext = { config, layout: stackLayout(config), say: () => undefined, ports: HA_PORTS };

describe('HA stack configuration', () => {
  it('points every process at the stable PostgreSQL address, all three NATS nodes with R3 streams, and the Temporal server', () => {
    assert.equal(new URL(config.database.url).port, String(HA_PORTS.postgres));
    assert.deepEqual(config.nats.servers, ['nats://127.0.0.1:4262', 'nats://127.0.0.1:4263', 'nats://127.0.0.1:4264']);
    assert.equal(config.nats.streamReplicas, 3);
    assert.equal(config.temporal.address, `127.0.0.1:${HA_PORTS.temporal}`);
    assert.equal(config.stack.dir, '/tmp/checkout-ha-unit');
  });

  it('uses ports of its own: no two servers share one, and none is the dev, bench or chaos stack’s', () => {
    const p = HA_PORTS;
    const ports = [
      p.postgres,
      ...p.postgresNodes,
      ...p.nats,
      ...p.natsMonitor,
      ...p.natsCluster,
      p.temporal,
      p.temporalHttp,
      p.temporalHistory,
      p.temporalMatching,
      p.temporalWorker,
      ...p.temporalMembership,
      p.temporalMetrics,
      p.temporalUi,
      p.api,
      ...[0, 1, 2, 3, 4, 5].map((i) => p.metricsBase + i),
    ];
    assert.equal(new Set(ports).size, ports.length);
    const others = [
      55432, 4222, 8222, 7233, 8233, 3000, 55442, 4242, 8242, 7243, 8243, 3142, 55452, 4252, 8252, 7253, 8253, 3052,
    ];
    assert.deepEqual(
      ports.filter((port) => others.includes(port)),
      [],
    );
  });

  it('writes each NATS node a clustered JetStream config that fsyncs every write and routes to all three', () => {
    const nodes = natsNodes(ctx);
    assert.equal(nodes.length, 3);
    const conf = natsNodeConf(ctx, nodes[1]!, nodes);
    assert.match(conf, /server_name: checkout-ha-2/);
    assert.match(conf, /listen: "127\.0\.0\.1:4263"/);
    assert.match(conf, /sync_interval: always/);
    assert.match(conf, /cluster \{\n {2}name: checkout-ha\n {2}listen: "127\.0\.0\.1:6263"/);
    for (const port of HA_PORTS.natsCluster)
      assert.ok(conf.includes(`"nats-route://127.0.0.1:${port}"`), `route ${port}`);
  });

  it('gives every NATS node the same users as the development server, and no anonymous user', () => {
    const nodes = natsNodes(ctx);
    const conf = natsNodeConf(ctx, nodes[0]!, nodes);
    assert.match(conf, /^authorization \{\n {2}users: \[/m);
    for (const user of ['outbox-relay', 'read-model', 'api', 'dlq', 'admin', 'example-team'])
      assert.ok(conf.includes(`{ user: "${user}", password: "`), user);
    assert.doesNotMatch(conf, /no_auth_user/);
    assert.equal(
      natsNodeConf(ctx, nodes[2]!, nodes).match(/authorization \{[\s\S]*$/)?.[0],
      conf.match(/authorization \{[\s\S]*$/)?.[0],
    );
  });

  it('forwards the stable address in TCP mode to the primary only', () => {
    const primary: Pick<PgNode, 'name' | 'port'> = { name: 'pg-2', port: HA_PORTS.postgresNodes[1] };
    const conf = proxyConf(ctx, primary);
    assert.match(conf, /mode tcp/);
    assert.match(conf, new RegExp(`bind 127\\.0\\.0\\.1:${HA_PORTS.postgres}\\n`));
    assert.deepEqual(conf.match(/^\s*server .*$/gm), [`  server pg-2 127.0.0.1:${HA_PORTS.postgresNodes[1]}`]);
  });

  it('gives the Temporal server PostgreSQL through the stable address, its own ports, and no archival at all', () => {
    const yaml = parse(temporalServerConfig(ctx, { replicator: 'r', temporal: 't-secret' }, '/x/dynamic.yaml')) as {
      persistence: {
        datastores: Record<string, { sql: { pluginName: string; connectAddr: string; password: string } }>;
      };
      services: Record<string, { rpc: { grpcPort: number } }>;
      archival: unknown;
      namespaceDefaults: unknown;
    };
    for (const store of Object.values(yaml.persistence.datastores)) {
      assert.equal(store.sql.pluginName, 'postgres12');
      assert.equal(store.sql.connectAddr, `127.0.0.1:${HA_PORTS.postgres}`);
      assert.equal(store.sql.password, 't-secret');
    }
    assert.equal(yaml.services.frontend?.rpc.grpcPort, HA_PORTS.temporal);
    assert.deepEqual(yaml.archival, { history: { state: 'disabled' }, visibility: { state: 'disabled' } });
    assert.deepEqual(yaml.namespaceDefaults, {
      archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } },
    });
  });

  it('points the Web UI server at the HA frontend on the UI port', () => {
    const yaml = parse(temporalUiConfig(ctx)) as {
      temporalGrpcAddress: string;
      port: number;
      enableUi: boolean;
      codec: { endpoint: string };
    };
    assert.deepEqual(
      { address: yaml.temporalGrpcAddress, port: yaml.port, enableUi: yaml.enableUi },
      { address: `127.0.0.1:${HA_PORTS.temporal}`, port: HA_PORTS.temporalUi, enableUi: true },
    );
    assert.equal(yaml.codec.endpoint, ctx.config.codecServer.url);
  });
});

describe('shiftHaPorts', () => {
  it('moves every port of the topology, lists included, and leaves the original alone', () => {
    const chaos = shiftHaPorts(HA_PORTS, 10);
    assert.deepEqual(chaos, {
      postgres: 55472,
      postgresNodes: [55473, 55474],
      nats: [4272, 4273, 4274],
      natsMonitor: [8272, 8273, 8274],
      natsCluster: [6272, 6273, 6274],
      temporal: 7273,
      temporalHttp: 7274,
      temporalHistory: 7275,
      temporalMatching: 7276,
      temporalWorker: 7277,
      temporalMembership: [6973, 6975, 6976, 6977],
      temporalMetrics: 9273,
      temporalUi: 8271,
      api: 3072,
      metricsBase: 9572,
    });
    assert.equal(HA_PORTS.postgres, 55462);
    assert.equal(shiftHaPorts(HA_PORTS, 20).nats[2], 4284);
  });
});
