import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { isScope, SCOPES, type Scope } from '../auth/principal';
import { CRASH_POINT_NAMES } from './crash-points';

/** Repository root, derived from this file's location so no path is hard-coded. */
export const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));

const duration = z.string().regex(/^\d+(ms|s|m|h|d)$/, 'expected a duration such as 500ms, 30s, 15m, 2h or 1d');

const csv = z.string().transform((s) =>
  s
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0),
);

const hostPort = z.string().regex(/^([\w.-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5}$/, 'expected host:port');

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/**
 * One `API_TOKENS` entry: `<token>` (every scope) or `<token>:<scope>+<scope>…` (only those).
 * Messages name the entry by its position (the issue path), never by its value: it is a secret.
 */
const serviceTokenEntry = z.string().transform((entry, ctx): { token: string; scopes: Scope[] } => {
  const colon = entry.indexOf(':');
  const token = colon < 0 ? entry : entry.slice(0, colon);
  if (!/^[\x21-\x7E]{16,}$/.test(token)) {
    ctx.addIssue({ code: 'custom', message: 'each API token needs at least 16 printable characters (no spaces)' });
    return z.NEVER;
  }
  if (colon < 0) return { token, scopes: [...SCOPES] };
  const scopes = entry.slice(colon + 1).split('+');
  const unknown = scopes.filter((s) => !isScope(s));
  if (unknown.length > 0 || scopes.length === 0) {
    ctx.addIssue({
      code: 'custom',
      message: `unknown scope(s) ${unknown.map((s) => JSON.stringify(s)).join(', ')} after the token's ":"; write <token> for every scope or <token>:<scope>+<scope> with scopes from ${SCOPES.join(', ')}`,
    });
    return z.NEVER;
  }
  return { token, scopes: scopes.filter(isScope) };
});

/** A write quota: `off`, or `<requests>/<window>` with a window of whole seconds (e.g. `60/1m`). */
const ratePolicy = z
  .string()
  .regex(/^(off|[1-9]\d{0,8}\/[1-9]\d{0,5}(s|m|h))$/, 'expected off or <requests>/<window>, e.g. 60/1m or 20/10s')
  .transform((v) => {
    if (v === 'off') return undefined;
    const [limit = '', window = ''] = v.split('/');
    return { limit: Number(limit), windowSeconds: durationToMs(window) / 1000 };
  });

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
  NATS_URL: csv
    .pipe(z.array(z.string().regex(/^(nats|tls|wss?):\/\//, 'expected nats:// URLs')).min(1))
    .default(['nats://127.0.0.1:4222']),
  NATS_CREDS_FILE: z.string().min(1).optional(),
  NATS_TOKEN: z.string().min(1).optional(),
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

/** The whole process configuration, parsed once at start-up and passed to whoever needs it. */
export type Config = ReturnType<typeof buildConfig>;

/** Token used when API_TOKENS is unset outside production, so `npm start` works out of the box. */
export const DEV_API_TOKEN = 'dev-token-change-me-0000';

/** Webhook secret used when PAYMENT_WEBHOOK_SECRET is unset outside production (the simulated provider's). */
export const DEV_PAYMENT_WEBHOOK_SECRET = 'dev-webhook-secret-change-me-0000';

/** Raised for an invalid environment; the message names every bad variable and why. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

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
  return {
    env: env.NODE_ENV,
    logLevel: env.LOG_LEVEL,
    http: { port: env.PORT, host: env.HOST },
    database: { url: env.DATABASE_URL, poolMax: env.DATABASE_POOL_MAX },
    nats: {
      servers: env.NATS_URL,
      credsFile: env.NATS_CREDS_FILE,
      token: env.NATS_TOKEN,
      streamReplicas: env.NATS_STREAM_REPLICAS,
      duplicateWindow: env.NATS_DUPLICATE_WINDOW,
      monitorUrl: env.NATS_MONITOR_URL,
    },
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
    },
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

/** Parses durations like `15m` into milliseconds (the same grammar the config accepts). */
export function durationToMs(value: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(value);
  if (!match) throw new ConfigError(`not a duration: ${value}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}
