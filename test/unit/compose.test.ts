import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { repoRoot } from '../../lib/config';

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: unknown;
  depends_on?: Record<string, { condition: string }>;
}

// No Docker engine runs here, so the compose file is checked by parsing it (merge keys resolved).
describe('docker-compose.yml', () => {
  const doc = parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };

  it('runs the same stack as npm start, with healthchecks on the infrastructure', () => {
    assert.deepEqual(Object.keys(doc.services).sort(), ['api', 'audit-subscriber', 'migrate', 'nats', 'notifications', 'outbox-relay', 'postgres', 'read-model', 'saga-worker', 'temporal']);
    for (const infra of ['postgres', 'nats', 'temporal']) assert.ok(doc.services[infra]?.healthcheck, `${infra} has a healthcheck`);
    assert.ok(doc.services.temporal?.command?.includes('--search-attribute=OrderStatus=Keyword'));
    assert.ok(doc.services.nats?.command?.includes('-js'));
  });

  it('starts every app process after its dependencies, with the documented settings', () => {
    for (const name of ['api', 'saga-worker', 'outbox-relay', 'audit-subscriber', 'read-model', 'notifications']) {
      const svc = doc.services[name];
      assert.ok(svc, name);
      assert.deepEqual(Object.keys(svc.depends_on ?? {}).sort(), ['migrate', 'nats', 'postgres', 'temporal']);
      for (const key of ['DATABASE_URL', 'NATS_URL', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'TEMPORAL_TASK_QUEUE', 'API_TOKENS']) {
        assert.ok(svc.environment?.[key], `${name} sets ${key}`);
      }
      const entry = svc.command?.at(-1);
      assert.ok(entry && readFileSync(join(repoRoot, entry)), `${name} entry point ${entry} exists`);
    }
  });
});
