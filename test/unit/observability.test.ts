import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { repoRoot } from '../../lib/config';

interface Service {
  image?: string;
  profiles?: string[];
  volumes?: string[];
  ports?: string[];
  environment?: Record<string, string>;
}
interface ScrapeConfig {
  job_name: string;
  static_configs: { targets: string[]; labels?: { process?: string } }[];
}
interface Collector {
  receivers: Record<string, { protocols?: Record<string, { endpoint: string }> }>;
  processors: Record<string, unknown>;
  exporters: Record<string, { endpoint?: string }>;
  extensions?: Record<string, unknown>;
  service: {
    extensions?: string[];
    pipelines: Record<string, { receivers: string[]; processors: string[]; exporters: string[] }>;
  };
}

const read = (...path: string[]) => parse(readFileSync(join(repoRoot, ...path), 'utf8')) as unknown;
/** `${NAME:-default}` (compose) or `${env:NAME:-default}` (collector) as expanded when NAME is unset. */
const withDefaults = (value: string) => value.replace(/\$\{(?:env:)?[A-Z_]+:-([^}]*)\}/g, '$1');

// No Docker engine here: the profile is checked by reading it (docker-compose.yml as a whole is
// validated against the Compose Specification in compose.test.ts), and every file it mounts and
// every address it wires up is checked against the other files.
describe('docker compose profile observability, deploy/otel and the Grafana provisioning', () => {
  const compose = parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, Service>;
  };
  const profile = Object.fromEntries(
    Object.entries(compose.services).filter(([, s]) => s.profiles?.includes('observability')),
  );
  const collector = read('deploy', 'otel', 'collector.yaml') as Collector;

  it('runs a collector, Prometheus, Grafana and Jaeger, each on a pinned image', () => {
    assert.deepEqual(Object.keys(profile).sort(), ['grafana', 'jaeger', 'otel-collector', 'prometheus']);
    for (const [name, s] of Object.entries(profile))
      assert.match(s.image ?? '', /:\d+\.\d+\.\d+$|:v\d+\.\d+\.\d+$/, name);
  });

  it('mounts only files and folders of the repository that exist', () => {
    for (const [name, s] of Object.entries(profile))
      for (const volume of s.volumes ?? []) {
        const [source = ''] = volume.split(':');
        if (source.startsWith('./')) assert.ok(existsSync(join(repoRoot, source)), `${name} mounts ${source}`);
      }
  });

  it('gives Prometheus the rules and a scrape config with the jobs and processes of prometheus.yml', () => {
    const mounts = profile.prometheus?.volumes ?? [];
    assert.ok(mounts.includes('./deploy/prometheus/rules.yml:/etc/prometheus/rules.yml:ro'));
    assert.ok(mounts.includes('./deploy/prometheus/prometheus-compose.yml:/etc/prometheus/prometheus.yml:ro'));
    const jobsOf = (file: string) =>
      (read('deploy', 'prometheus', file) as { scrape_configs: ScrapeConfig[] }).scrape_configs.flatMap((job) =>
        job.static_configs.flatMap((s) =>
          s.targets.map((t) => ({ job: job.job_name, process: s.labels?.process, target: t })),
        ),
      );
    const local = jobsOf('prometheus.yml').map(({ job, process }) => `${job} ${process}`);
    const docker = jobsOf('prometheus-compose.yml').filter(({ job }) => job !== 'otel-collector');
    assert.deepEqual(
      docker.map(({ job, process }) => `${job} ${process}`),
      local,
    );
    for (const { process, target } of docker) {
      const [host = ''] = target.split(':');
      assert.equal(host, process, 'each process is scraped by its compose service name');
      assert.ok(compose.services[host], `${host} is a compose service`);
    }
  });

  it('provisions Grafana with the dashboards folder and a default Prometheus data source', () => {
    const mounts = profile.grafana?.volumes ?? [];
    const provider = read('deploy', 'grafana', 'provisioning', 'dashboards', 'checkout-saga.yml') as {
      providers: { options: { path: string } }[];
    };
    const target = provider.providers[0]?.options.path;
    assert.ok(mounts.includes(`./deploy/grafana/dashboards:${target}:ro`), `dashboards mounted at ${target}`);
    assert.ok(mounts.includes('./deploy/grafana/provisioning:/etc/grafana/provisioning:ro'));
    const sources = read('deploy', 'grafana', 'provisioning', 'datasources', 'datasources.yml') as {
      datasources: { type: string; url: string; isDefault?: boolean }[];
    };
    const prometheus = sources.datasources.find((d) => d.type === 'prometheus');
    assert.equal(prometheus?.isDefault, true);
    assert.equal(new URL(prometheus?.url ?? '').hostname, 'prometheus');
    assert.ok(sources.datasources.some((d) => d.type === 'jaeger' && new URL(d.url).hostname === 'jaeger'));
  });

  it('has a collector config whose pipelines use only declared components, memory_limiter first', () => {
    const declared = {
      receivers: collector.receivers,
      processors: collector.processors,
      exporters: collector.exporters,
    };
    for (const [name, pipeline] of Object.entries(collector.service.pipelines)) {
      for (const kind of ['receivers', 'processors', 'exporters'] as const)
        for (const id of pipeline[kind]) assert.ok(declared[kind][id] !== undefined, `${name}: ${kind} ${id}`);
      assert.equal(pipeline.processors[0], 'memory_limiter', `${name} limits memory first`);
    }
    for (const id of collector.service.extensions ?? []) assert.ok(collector.extensions?.[id] !== undefined, id);
    assert.ok(collector.service.pipelines.traces, 'a traces pipeline');
  });

  it('wires the apps to the collector’s OTLP/HTTP receiver and the collector to Jaeger', () => {
    const http = collector.receivers.otlp?.protocols?.http?.endpoint ?? '';
    const endpoint = new URL(withDefaults(compose.services.api?.environment?.OTEL_EXPORTER_OTLP_ENDPOINT ?? ''));
    assert.equal(endpoint.hostname, 'otel-collector');
    assert.equal(endpoint.port, http.split(':')[1], 'the apps send to the port the receiver listens on');
    const traces = collector.service.pipelines.traces?.exporters[0] ?? '';
    const target = profile['otel-collector']?.environment?.TRACES_OTLP_ENDPOINT ?? '';
    assert.equal(target, withDefaults(collector.exporters[traces]?.endpoint ?? ''));
    assert.equal(target.split(':')[0], 'jaeger');
  });
});
