import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments, parse } from 'yaml';
import { durationToMs, loadConfig, repoRoot } from '../../lib/config';
import { installedGoTool, installedPythonTool } from '../../scripts/stack';
import { SUBSCRIBERS } from '../../subscribers/index';
import { assertToolSucceeded, runTool } from '../support/tools';

const chart = join(repoRoot, 'deploy', 'helm', 'checkout-saga');
const rulesFile = join(repoRoot, 'deploy', 'prometheus', 'rules.yml');
// The oldest Kubernetes the chart supports (Chart.yaml's kubeVersion) and the newest kubernetes-validate ships.
const KUBE_VERSIONS = ['1.25.0', '1.37.0'];
const CREDENTIALS = [
  'secrets.DATABASE_URL=postgres://checkout:pw@db:5432/checkout',
  'secrets.API_TOKENS=tok-0123456789',
  `secrets.PAYLOAD_KEYS=k1=${Buffer.alloc(32, 1).toString('base64')}`,
];
const EVERYTHING = [...CREDENTIALS, 'serviceMonitor.enabled=true', 'prometheusRule.enabled=true'];

interface Manifest {
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // The parts of a Deployment, Job, Service and the Operator's resources the tests read.
  spec: Record<string, unknown> & {
    replicas?: number;
    template?: { spec: PodSpec };
    groups?: unknown;
    endpoints?: { port: string }[];
    jobLabel?: string;
    ports?: { name: string }[];
  };
}
interface Container {
  args?: string[];
  env: {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef: { key: string; name: string; optional?: boolean } };
  }[];
  resources?: { requests?: object; limits?: object };
  livenessProbe?: { httpGet?: { path: string } };
  readinessProbe?: { httpGet?: { path: string } };
}
interface PodSpec {
  terminationGracePeriodSeconds?: number;
  containers: Container[];
}

// helm is built by `npm test` (`up --tools helm`), kubernetes-validate installed by `up --python`;
// either missing fails here with the command that installs it.
describe('deploy/helm/checkout-saga, checked by helm and against the Kubernetes API schemas', () => {
  const cache = loadConfig();
  const helm = installedGoTool(cache.stack.binDir, 'helm');
  const validator = installedPythonTool(cache.stack.cacheDir, 'kubernetes-validate');
  const render = (sets: string[], kubeVersion = KUBE_VERSIONS[0] as string) =>
    runTool(
      helm,
      ['template', 'checkout', chart, '--kube-version', kubeVersion, ...sets.flatMap((s) => ['--set', s])],
      repoRoot,
    );
  const rendered = render(EVERYTHING);
  const manifests = parseAllDocuments(rendered.stdout)
    .map((d) => d.toJSON() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
  const deployments = new Map(
    manifests
      .filter((m) => m.kind === 'Deployment')
      .map((m) => [m.metadata.labels?.['app.kubernetes.io/component'], m]),
  );
  const containerOf = (m: Manifest) => m.spec.template?.spec.containers[0] as Container;

  it('passes helm lint --strict', () => {
    const run = runTool(helm, ['lint', chart, '--strict', ...CREDENTIALS.flatMap((s) => ['--set', s])], repoRoot);
    assertToolSucceeded(run, 'helm lint');
    assert.match(run.output, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('renders with helm template', () => assertToolSucceeded(rendered, 'helm template'));

  it('refuses to render without the database URL and API tokens, naming the value', () => {
    const run = render([]);
    assert.notEqual(run.code, 0);
    assert.match(run.output, /secrets\.DATABASE_URL \(or secrets\.existingSecret\) is required/);
    assertToolSucceeded(render(['secrets.existingSecret=checkout-credentials']), 'helm template with existingSecret');
  });

  for (const version of KUBE_VERSIONS) {
    it(`renders manifests valid against the Kubernetes ${version} API schemas (strict)`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'helm-'));
      const file = join(dir, 'rendered.yaml');
      const out = render(EVERYTHING, version);
      assertToolSucceeded(out, 'helm template');
      writeFileSync(file, out.stdout);
      const run = runTool(validator, ['--strict', '--kubernetes-version', version, file], dir);
      assertToolSucceeded(run, 'kubernetes-validate');
      const passed = run.output.match(/ passed for resource /g)?.length ?? 0;
      const custom = manifests.filter((m) => m.kind === 'ServiceMonitor' || m.kind === 'PrometheusRule').length;
      assert.equal(passed, manifests.length - custom, run.output);
      // The Prometheus Operator's kinds are not Kubernetes API kinds: checked by the tests below.
      assert.equal(run.output.match(/Couldn't find schema/g)?.length ?? 0, custom, run.output);
    });
  }

  it('runs every process npm start runs, with replicas and resources', () => {
    const processes = [
      'api',
      'saga-worker',
      'saga-starter',
      'outbox-relay',
      'codec-server',
      ...SUBSCRIBERS.map((s) => s.name),
    ];
    assert.deepEqual([...deployments.keys()].sort(), processes.sort());
    for (const [name, d] of deployments) {
      assert.ok((d.spec.replicas ?? 0) >= 1, `${name} replicas`);
      assert.ok(containerOf(d).resources?.requests && containerOf(d).resources?.limits, `${name} resources`);
    }
    for (const s of SUBSCRIBERS)
      assert.deepEqual(containerOf(deployments.get(s.name) as Manifest).args?.slice(1), [s.name]);
  });

  it('gives each pod longer to stop than the processes take to drain', () => {
    for (const [name, d] of deployments) {
      const grace = containerOf(d).env.find((e) => e.name === 'SHUTDOWN_GRACE_PERIOD')?.value ?? '';
      const pod = d.spec.template?.spec.terminationGracePeriodSeconds ?? 0;
      assert.ok(pod * 1000 > durationToMs(grace), `${name}: terminationGracePeriodSeconds ${pod} > ${grace}`);
    }
  });

  it('probes the API on /healthz and /readyz, the workers on their metrics port', () => {
    const api = containerOf(deployments.get('api') as Manifest);
    assert.equal(api.livenessProbe?.httpGet?.path, '/healthz');
    assert.equal(api.readinessProbe?.httpGet?.path, '/readyz');
    for (const [name, d] of deployments)
      if (name !== 'api' && name !== 'codec-server')
        assert.equal(
          containerOf(d).livenessProbe?.httpGet?.path,
          name === 'saga-worker' ? '/metrics' : '/healthz',
          `${name}: Temporal's exporter serves the saga worker's port, lib/metrics-server.ts the others'`,
        );
  });

  it('probes the codec server on /healthz of its own port, and listens there on every interface', () => {
    const codec = containerOf(deployments.get('codec-server') as Manifest) as Container & {
      startupProbe?: { httpGet?: { path: string; port: string } };
      ports?: { name: string; containerPort: number }[];
    };
    for (const probe of [codec.startupProbe, codec.livenessProbe, codec.readinessProbe])
      assert.deepEqual(probe?.httpGet, { path: '/healthz', port: 'codec' });
    const env = new Map(codec.env.map((e) => [e.name, e.value]));
    assert.equal(env.get('CODEC_SERVER_HOST'), '0.0.0.0');
    assert.equal(Number(env.get('CODEC_SERVER_PORT')), codec.ports?.find((p) => p.name === 'codec')?.containerPort);
    assert.deepEqual(codec.args, ['workers/codec-server.ts']);
  });

  it('gives the codec server its keys and the API tokens, and no database or NATS credentials', () => {
    const env = containerOf(deployments.get('codec-server') as Manifest).env;
    const fromSecret = env.filter((e) => e.valueFrom).map((e) => e.valueFrom?.secretKeyRef.key);
    assert.deepEqual(fromSecret.sort(), ['API_TOKENS', 'PAYLOAD_KEYS', 'PAYLOAD_KEY_CURRENT']);
    const required = env.filter((e) => e.valueFrom?.secretKeyRef.optional === false);
    assert.deepEqual(required.map((e) => e.name).sort(), ['API_TOKENS', 'PAYLOAD_KEYS']);
    for (const key of ['DATABASE_URL', 'NATS_TOKEN', 'NATS_USER', 'NATS_PASSWORD', 'TEMPORAL_API_KEY'])
      assert.equal(
        env.find((e) => e.name === key),
        undefined,
        `no ${key}`,
      );
  });

  it('takes credentials only from the Secret, never as plain values', () => {
    const secret = manifests.find((m) => m.kind === 'Secret');
    assert.ok(secret, 'a Secret is rendered');
    const others = [...deployments].filter(([name]) => name !== 'codec-server').map(([, d]) => d);
    for (const d of [...others, ...manifests.filter((m) => m.kind === 'Job')]) {
      const env = containerOf(d).env;
      for (const key of ['DATABASE_URL', 'API_TOKENS', 'PAYMENT_WEBHOOK_SECRET'])
        assert.equal(env.find((e) => e.name === key)?.valueFrom?.secretKeyRef.key, key, `${d.metadata.name} ${key}`);
      assert.ok(!JSON.stringify(env).includes('tok-0123456789'), 'no token in a plain env value');
    }
  });

  it('connects a process with credentialsSecret as its own principal, the migration Job as the owner', () => {
    const out = render([...CREDENTIALS, 'processes.outbox-relay.credentialsSecret=checkout-outbox-relay']);
    assertToolSucceeded(out, 'helm template with a credentialsSecret');
    const docs = parseAllDocuments(out.stdout)
      .map((d) => d.toJSON() as Manifest | null)
      .filter((m): m is Manifest => m !== null);
    const relay = docs.find((m) => m.kind === 'Deployment' && m.metadata.name.endsWith('-outbox-relay'));
    assert.ok(relay, 'the relay is rendered');
    const env = containerOf(relay).env;
    for (const key of ['DATABASE_URL', 'NATS_USER', 'NATS_PASSWORD']) {
      const refs = env.filter((e) => e.name === key);
      assert.equal(refs.length, 1, `${key} once`);
      assert.equal(refs[0]?.valueFrom?.secretKeyRef.name, 'checkout-outbox-relay', `${key} from its own Secret`);
    }
    assert.equal(
      env.find((e) => e.name === 'NATS_TOKEN'),
      undefined,
      'not the shared NATS token',
    );
    const job = docs.find((m) => m.kind === 'Job');
    assert.notEqual(
      containerOf(job as Manifest).env.find((e) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef.name,
      'checkout-outbox-relay',
      'the migrations run as the owner',
    );
  });

  it('migrates in a hook Job before the processes of an install or upgrade, after its Secret exists', () => {
    const job = manifests.find((m) => m.kind === 'Job');
    const secret = manifests.find((m) => m.kind === 'Secret');
    const container = job?.spec.template?.spec.containers[0] as Container & { command?: string[] };
    assert.ok(container.command?.includes('scripts/db-setup.ts'), 'runs the migrations and the seed');
    assert.equal(job?.metadata.annotations?.['helm.sh/hook'], 'pre-install,pre-upgrade');
    assert.equal(secret?.metadata.annotations?.['helm.sh/hook'], 'pre-install,pre-upgrade');
    const weight = (m: Manifest | undefined) => Number(m?.metadata.annotations?.['helm.sh/hook-weight']);
    assert.ok(weight(secret) < weight(job), 'the Secret is created before the Job that reads it');
  });

  it('ships the rules of deploy/prometheus unchanged in its PrometheusRule, which promtool accepts', () => {
    assert.equal(
      readFileSync(join(chart, 'files', 'rules.yml'), 'utf8'),
      readFileSync(rulesFile, 'utf8'),
      'files/rules.yml is a copy of deploy/prometheus/rules.yml',
    );
    const rule = manifests.find((m) => m.kind === 'PrometheusRule');
    assert.deepEqual(rule?.spec.groups, (parse(readFileSync(rulesFile, 'utf8')) as { groups: unknown }).groups);
    const file = join(mkdtempSync(join(tmpdir(), 'rule-')), 'rules.yml');
    writeFileSync(file, JSON.stringify({ groups: rule?.spec.groups }));
    assertToolSucceeded(
      runTool(installedGoTool(cache.stack.binDir, 'promtool'), ['check', 'rules', file], repoRoot),
      'promtool check rules',
    );
  });

  it('scrapes every process through its ServiceMonitor, as the jobs the rules select on', () => {
    const monitor = manifests.find((m) => m.kind === 'ServiceMonitor');
    const label = monitor?.spec.jobLabel as string;
    const ports = new Set(monitor?.spec.endpoints?.map((e) => e.port));
    const services = manifests.filter((m) => m.kind === 'Service');
    assert.equal(services.length, deployments.size);
    const isCodec = (s: Manifest) => s.metadata.labels?.['app.kubernetes.io/component'] === 'codec-server';
    // The codec server serves no /metrics: its port is one the ServiceMonitor does not scrape.
    const codec = services.find(isCodec);
    assert.ok(
      codec?.spec.ports?.every((p) => !ports.has(p.name)),
      'the codec server is not scraped',
    );
    for (const s of services.filter((m) => !isCodec(m))) {
      assert.ok(
        s.spec.ports?.some((p) => ports.has(p.name)),
        `${s.metadata.name} has a scraped port`,
      );
      assert.match(s.metadata.labels?.[label] ?? '', /^checkout-/, `${s.metadata.name} names its job`);
    }
    const relay = services.find((s) => s.metadata.labels?.['app.kubernetes.io/component'] === 'outbox-relay');
    assert.equal(relay?.metadata.labels?.[label], 'checkout-relay', 'OutboxRelayDown selects job="checkout-relay"');
  });
});
