import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { SCOPES } from '../auth/principal';
import {
  bool,
  ConfigError,
  csv,
  duration,
  durationToMs,
  hostPort,
  payloadKeyEntry,
  ratePolicy,
  serviceTokenEntry,
} from './config-values';
import { CRASH_POINT_NAMES } from './crash-points';

export { ConfigError, durationToMs } from './config-values';

/** Repository root, derived from this file's location so no path is hard-coded. */
export const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL')
    .default('postgres://checkout:checkout@127.0.0.1:55432/checkout'),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  // How long opening a connection may take (TCP connect, TLS, authentication) before it fails.
  DATABASE_CONNECT_TIMEOUT: duration.default('5s'),
  // The longest one statement may run (0s: no limit): the server cancels it then (statement_timeout),
  // and a connection that has not answered shortly after is abandoned by the client (lib/db.ts).
  DATABASE_QUERY_TIMEOUT: duration
    .default('30s')
    // Node's timers (pg's client-side query_timeout) hold at most 2^31-1 ms.
    .refine((d) => durationToMs(d) <= 2_000_000_000, 'at most 2000000000ms (about 23 days); 0s turns it off'),
  NATS_URL: csv
    .pipe(z.array(z.string().regex(/^(nats|tls|wss?):\/\//, 'expected nats:// URLs')).min(1))
    .default(['nats://127.0.0.1:4222']),
  NATS_CREDS_FILE: z.string().min(1).optional(),
  NATS_TOKEN: z.string().min(1).optional(),
  // A NATS user of the server's `authorization { users }`; both or neither.
  NATS_USER: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'expected letters, digits, - or _')
    .optional(),
  NATS_PASSWORD: z.string().min(1).optional(),
  NATS_STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  NATS_DUPLICATE_WINDOW: duration.default('2h'),
  NATS_MONITOR_URL: z.string().url().default('http://127.0.0.1:8222'),
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('checkout'),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS: bool.default(false),
  TEMPORAL_TLS_CERT_FILE: z.string().min(1).optional(),
  TEMPORAL_TLS_KEY_FILE: z.string().min(1).optional(),
  TEMPORAL_UI_URL: z.string().url().default('http://127.0.0.1:8233'),
  API_TOKENS: csv.pipe(z.array(serviceTokenEntry)).optional(),
  // Keys of the payload codec (AES-256-GCM): every one decodes, the current one encodes.
  PAYLOAD_KEYS: csv.pipe(z.array(payloadKeyEntry).min(1)).optional(),
  PAYLOAD_KEY_CURRENT: z.string().min(1).optional(),
  CODEC_SERVER_HOST: z.string().min(1).default('127.0.0.1'),
  CODEC_SERVER_PORT: z.coerce.number().int().min(0).max(65535).default(8089),
  // The URL browsers reach the codec server at (a proxy in front of it); default: its own address.
  CODEC_SERVER_URL: z.url({ protocol: /^https?$/ }).optional(),
  // Origins of the Web UIs allowed to call it; default: TEMPORAL_UI_URL's.
  CODEC_CORS_ORIGINS: csv.pipe(z.array(z.url({ protocol: /^https?$/ }))).optional(),
  // OpenID Connect access tokens (customers and other clients); all three or none.
  AUTH_JWKS_URL: z.url({ protocol: /^https?$/, error: 'expected the http(s) URL of a JWKS' }).optional(),
  AUTH_ISSUER: z.string().min(1).optional(),
  AUTH_AUDIENCE: z.string().min(1).optional(),
  // Comma-separated: every secret is accepted (several while one is being rotated).
  PAYMENT_WEBHOOK_SECRET: csv
    .pipe(z.array(z.string().min(16, 'each webhook secret needs at least 16 characters')).min(1))
    .optional(),
  RATE_LIMIT_CUSTOMER_WRITES: ratePolicy.prefault('60/1m'),
  RATE_LIMIT_SERVICE_WRITES: ratePolicy.prefault('6000/1m'),
  PAYMENT_CONFIRMATION_TIMEOUT: duration.default('15m'),
  // OpenTelemetry's own variable names, parsed here so the SDK never reads the environment itself.
  OTEL_TRACES_EXPORTER: z.enum(['none', 'console', 'otlp']).default('none'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().default('http://127.0.0.1:4318'),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).default(1),
  WORKER_METRICS_ADDRESS: hostPort.optional(),
  METRICS_ADDRESS: hostPort.optional(),
  // Only `npm start` reads it: its children serve metrics on consecutive ports from here (0: none).
  METRICS_BASE_PORT: z.coerce.number().int().min(0).max(65000).default(9464),
  COMPENSATION_ALERT_AFTER: duration.default('1h'),
  RELAY_BATCH_SIZE: z.coerce.number().int().min(1).max(5000).default(200),
  // Publishes one relay keeps in flight across claims; 256 is what the bench's raw publisher keeps.
  RELAY_WINDOW: z.coerce.number().int().min(1).max(10000).default(256),
  RELAY_POLL_INTERVAL: duration.default('1s'),
  RELAY_REBALANCE_INTERVAL: duration.default('2s'),
  SAGA_STARTER_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(32),
  SAGA_STARTER_POLL_INTERVAL: duration.default('1s'),
  // Test-only: crash points to arm (lib/crash-points.ts); refused in production below.
  CRASH_POINTS: csv.pipe(z.array(z.enum(CRASH_POINT_NAMES))).default([]),
  // Below the usual 30 s an orchestrator waits before SIGKILL, so the forced exit is ours and logged.
  SHUTDOWN_GRACE_PERIOD: duration.default('25s'),
  READ_MODEL_CONSUMER: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'expected letters, digits, - or _')
    .default('order-read-model'),
  READ_MODEL_DELIVER_FROM: z.iso.datetime({ offset: true }).optional(),
  STACK_DIR: z.string().min(1).default(join(repoRoot, '.stack')),
  STACK_CACHE_DIR: z.string().min(1).optional(),
  XDG_CACHE_HOME: z.string().min(1).optional(),
  TEMPORAL_TEST_SERVER_PATH: z.string().min(1).optional(),
  // Chromium for the Web UI browser test; Debian's /usr/bin/chromium (or `chromium` on PATH) when unset.
  CHROMIUM_PATH: z.string().min(1).optional(),
});

/** Every environment variable this module reads (.env.example lists each; a unit test keeps them in step). */
export const ENV_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

/** The whole process configuration, parsed once at start-up and passed to whoever needs it. */
export type Config = ReturnType<typeof buildConfig>;

/** Token used when API_TOKENS is unset outside production, so `npm start` works out of the box. */
export const DEV_API_TOKEN = 'dev-token-change-me-0000';

/** Webhook secret used when PAYMENT_WEBHOOK_SECRET is unset outside production (the simulated provider's). */
export const DEV_PAYMENT_WEBHOOK_SECRET = 'dev-webhook-secret-change-me-0000';

/** Payload key used when PAYLOAD_KEYS is unset outside production: public, so it protects nothing. */
export const DEV_PAYLOAD_KEY = { id: 'dev', key: Buffer.from('checkout-saga-dev-payload-key-00', 'utf8') } as const;

/** Who may call the API: `api` (service tokens), `auth` (the OIDC provider), `webhooks`, `rateLimits`. */
function accessConfig(env: z.infer<typeof envSchema>) {
  const jwt = [env.AUTH_JWKS_URL, env.AUTH_ISSUER, env.AUTH_AUDIENCE];
  if (jwt.some((v) => v !== undefined) && !jwt.every((v) => v !== undefined)) {
    throw new ConfigError(
      'Invalid configuration:\n  AUTH_JWKS_URL, AUTH_ISSUER, AUTH_AUDIENCE: set all three to accept OpenID Connect access tokens, or none',
    );
  }
  const webhookSecrets =
    env.PAYMENT_WEBHOOK_SECRET ?? (env.NODE_ENV === 'production' ? [] : [DEV_PAYMENT_WEBHOOK_SECRET]);
  return {
    api: {
      /** The bearer tokens of `API_TOKENS` alone, without their scopes. */
      tokens: (env.API_TOKENS ?? [{ token: DEV_API_TOKEN }]).map((t) => t.token),
      /** `API_TOKENS` as service principals with their scopes. */
      serviceTokens: env.API_TOKENS ?? [{ token: DEV_API_TOKEN, scopes: [...SCOPES] }],
      usingDevToken: env.API_TOKENS === undefined,
    },
    auth: {
      jwt:
        env.AUTH_JWKS_URL && env.AUTH_ISSUER && env.AUTH_AUDIENCE
          ? { jwksUrl: env.AUTH_JWKS_URL, issuer: env.AUTH_ISSUER, audience: env.AUTH_AUDIENCE }
          : undefined,
    },
    webhooks: {
      /** Secrets a provider's `Payment-Signature` may be made with; none: every notification is refused. */
      paymentSecrets: webhookSecrets,
      usingDevSecret: env.PAYMENT_WEBHOOK_SECRET === undefined && webhookSecrets.length > 0,
    },
    /** Write quotas per principal (`undefined`: unlimited), shared by every API process through Postgres. */
    rateLimits: { customer: env.RATE_LIMIT_CUSTOMER_WRITES, service: env.RATE_LIMIT_SERVICE_WRITES },
  };
}

/** The payload codec's keys (`keys`, `currentKeyId`) and where its codec server listens. */
function codecConfig(env: z.infer<typeof envSchema>) {
  if (env.NODE_ENV === 'production' && env.PAYLOAD_KEYS === undefined) {
    throw new ConfigError(
      'Invalid configuration:\n  PAYLOAD_KEYS: required in production (<id>=<base64 32-byte key>, comma-separated)',
    );
  }
  const keys = env.PAYLOAD_KEYS ?? [{ id: DEV_PAYLOAD_KEY.id, key: Buffer.from(DEV_PAYLOAD_KEY.key) }];
  const ids = keys.map((k) => k.id);
  const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
  if (duplicate !== undefined) {
    throw new ConfigError(`Invalid configuration:\n  PAYLOAD_KEYS: key id ${duplicate} appears twice`);
  }
  const current = env.PAYLOAD_KEY_CURRENT ?? (keys.length === 1 ? keys[0]?.id : undefined);
  if (current === undefined || !ids.includes(current)) {
    throw new ConfigError(
      `Invalid configuration:\n  PAYLOAD_KEY_CURRENT: ${current === undefined ? 'required when PAYLOAD_KEYS holds several keys' : `no key ${current} in PAYLOAD_KEYS`} (ids: ${ids.join(', ')})`,
    );
  }
  // By value, whatever its id: the development key is in this repository, so it protects nothing.
  // Production never writes with it; it may stay listed as an old key, so that sagas a deployment
  // started under it (compose did, before it asked for a key) can still be read until they end.
  const devCurrent = keys.find((k) => k.id === current && k.key.equals(DEV_PAYLOAD_KEY.key));
  if (env.NODE_ENV === 'production' && devCurrent !== undefined) {
    throw new ConfigError(
      `Invalid configuration:\n  PAYLOAD_KEYS: key ${devCurrent.id} is the public development key, refused in production as the current key (generate one: openssl rand -base64 32; the old key may stay listed, not current, until sagas started under it have ended)`,
    );
  }
  const ownUrl = `http://${env.CODEC_SERVER_HOST.replace(/^0\.0\.0\.0$/, '127.0.0.1')}:${env.CODEC_SERVER_PORT}/codec`;
  return {
    // By value, not by absence: a host may pass the public key explicitly (outside production).
    payloadKeys: { keys, currentKeyId: current, usingDevKey: keys.every((k) => k.key.equals(DEV_PAYLOAD_KEY.key)) },
    codecServer: {
      host: env.CODEC_SERVER_HOST,
      port: env.CODEC_SERVER_PORT,
      /** What the Web UI is given as its codec endpoint (`/encode` and `/decode` are appended). */
      url: (env.CODEC_SERVER_URL ?? ownUrl).replace(/\/$/, ''),
      corsOrigins: env.CODEC_CORS_ORIGINS?.map((u) => new URL(u).origin) ?? [new URL(env.TEMPORAL_UI_URL).origin],
    },
  };
}

/** How to reach NATS and as whom: a user, a token, a creds file, or (outside production) the stack's admin. */
function natsConfig(env: z.infer<typeof envSchema>) {
  if ((env.NATS_USER === undefined) !== (env.NATS_PASSWORD === undefined)) {
    throw new ConfigError('Invalid configuration:\n  NATS_USER, NATS_PASSWORD: set both, or neither');
  }
  return {
    servers: env.NATS_URL,
    credsFile: env.NATS_CREDS_FILE,
    token: env.NATS_TOKEN,
    user: env.NATS_USER === undefined ? undefined : { name: env.NATS_USER, password: env.NATS_PASSWORD ?? '' },
    /**
     * Outside production, a process given no NATS credentials at all connects as the local
     * stack's admin (tests, bench, tools run from a developer's shell), from this file if the
     * stack has made it. Every process the stack or a test starts gets its own user instead.
     */
    stackAdminFile:
      env.NODE_ENV === 'production' || env.NATS_USER || env.NATS_TOKEN || env.NATS_CREDS_FILE
        ? undefined
        : join(env.STACK_DIR, 'secrets', 'admin.json'),
    streamReplicas: env.NATS_STREAM_REPLICAS,
    duplicateWindow: env.NATS_DUPLICATE_WINDOW,
    monitorUrl: env.NATS_MONITOR_URL,
  };
}

function buildConfig(env: z.infer<typeof envSchema>) {
  const cacheDir = env.STACK_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'checkout-saga');
  if (env.NODE_ENV === 'production' && !env.API_TOKENS?.length) {
    throw new ConfigError(
      'Invalid configuration:\n  API_TOKENS: required in production (comma-separated bearer tokens)',
    );
  }
  if (env.NODE_ENV === 'production' && env.CRASH_POINTS.length > 0) {
    throw new ConfigError('Invalid configuration:\n  CRASH_POINTS: a test-only setting, refused in production');
  }
  const codec = codecConfig(env);
  return {
    env: env.NODE_ENV,
    logLevel: env.LOG_LEVEL,
    http: { port: env.PORT, host: env.HOST },
    database: {
      url: env.DATABASE_URL,
      poolMax: env.DATABASE_POOL_MAX,
      /** What every pool is created with (`createDb`); tools with long statements turn `queryMs` off. */
      timeouts: {
        connectMs: durationToMs(env.DATABASE_CONNECT_TIMEOUT),
        queryMs: durationToMs(env.DATABASE_QUERY_TIMEOUT),
      },
    },
    nats: natsConfig(env),
    temporal: {
      address: env.TEMPORAL_ADDRESS,
      namespace: env.TEMPORAL_NAMESPACE,
      taskQueue: env.TEMPORAL_TASK_QUEUE,
      apiKey: env.TEMPORAL_API_KEY,
      tls: env.TEMPORAL_TLS || env.TEMPORAL_API_KEY !== undefined,
      tlsCertFile: env.TEMPORAL_TLS_CERT_FILE,
      tlsKeyFile: env.TEMPORAL_TLS_KEY_FILE,
      uiUrl: env.TEMPORAL_UI_URL,
      testServerPath: env.TEMPORAL_TEST_SERVER_PATH,
      /** Every client and worker encrypts payloads with these (lib/temporal.ts). */
      payloadKeys: codec.payloadKeys,
    },
    codecServer: codec.codecServer,
    ...accessConfig(env),
    tracing: {
      exporter: env.OTEL_TRACES_EXPORTER,
      otlpTracesUrl: new URL(
        'v1/traces',
        env.OTEL_EXPORTER_OTLP_ENDPOINT.endsWith('/')
          ? env.OTEL_EXPORTER_OTLP_ENDPOINT
          : `${env.OTEL_EXPORTER_OTLP_ENDPOINT}/`,
      ).href,
      sampleRatio: env.OTEL_TRACES_SAMPLER_ARG,
    },
    workerMetricsAddress: env.WORKER_METRICS_ADDRESS ?? env.METRICS_ADDRESS,
    metrics: { address: env.METRICS_ADDRESS, basePort: env.METRICS_BASE_PORT },
    saga: {
      paymentConfirmationTimeout: env.PAYMENT_CONFIRMATION_TIMEOUT,
      compensationAlertAfter: env.COMPENSATION_ALERT_AFTER,
    },
    relay: {
      batchSize: env.RELAY_BATCH_SIZE,
      window: env.RELAY_WINDOW,
      pollInterval: env.RELAY_POLL_INTERVAL,
      rebalanceInterval: env.RELAY_REBALANCE_INTERVAL,
    },
    sagaStarter: { concurrency: env.SAGA_STARTER_CONCURRENCY, pollInterval: env.SAGA_STARTER_POLL_INTERVAL },
    crashPoints: env.CRASH_POINTS,
    shutdown: { gracePeriod: env.SHUTDOWN_GRACE_PERIOD },
    readModel: {
      consumer: env.READ_MODEL_CONSUMER,
      deliverFrom: env.READ_MODEL_DELIVER_FROM === undefined ? undefined : new Date(env.READ_MODEL_DELIVER_FROM),
    },
    stack: { dir: env.STACK_DIR, cacheDir, binDir: join(cacheDir, 'bin') },
    browser: { chromiumPath: env.CHROMIUM_PATH },
  };
}

/**
 * Parses the environment once. Entry points call this and inject the result.
 *
 * @example
 * const config = loadConfig();            // reads process.env
 * const testConfig = loadConfig({ PORT: '0' });
 * @throws ConfigError naming each invalid variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return buildConfig(parsed.data);
}

/**
 * The environment a child process gets: this process's, plus `overrides`. Lives here because this
 * module is the only reader of the environment.
 *
 * @example
 * spawn(process.execPath, args, { env: childEnv({ METRICS_ADDRESS: '127.0.0.1:9465' }) });
 */
export function childEnv(overrides: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, ...overrides };
}
