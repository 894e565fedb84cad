import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import { NativeConnection, type NativeConnectionOptions, type WorkerOptions } from '@temporalio/worker';
import type { Config } from './config';
import { encryptedDataConverter } from './payload-codec';
import type { Tracing } from './tracing';

async function tlsOptions(config: Config['temporal']): Promise<ConnectionOptions['tls']> {
  if (!config.tls) return undefined;
  if (config.tlsCertFile && config.tlsKeyFile) {
    return { clientCertPair: { crt: await readFile(config.tlsCertFile), key: await readFile(config.tlsKeyFile) } };
  }
  return true;
}

/**
 * A connection to the configured Temporal frontend, with its TLS and API key: no data converter,
 * so what it reads is what the server stores (payloads as encrypted on the wire).
 *
 * @example
 * const connection = await connectTemporal(config.temporal);
 */
export async function connectTemporal(config: Config['temporal'], { lazy = false } = {}): Promise<Connection> {
  const options: ConnectionOptions = { address: config.address, tls: await tlsOptions(config) };
  if (config.apiKey) options.apiKey = config.apiKey;
  return lazy ? Connection.lazy(options) : Connection.connect(options);
}

/**
 * A Temporal client for the configured address, namespace and credentials (local dev server,
 * a self-hosted cluster with mTLS, or Temporal Cloud with an API key), encrypting payloads
 * with the configured keys. With `lazy`, it does not
 * check that the server answers.
 *
 * @example
 * const client = await createTemporalClient(config.temporal);
 * const lazyClient = await createTemporalClient(config.temporal, { lazy: true });
 */
export async function createTemporalClient(
  config: Config['temporal'],
  { lazy = false }: { lazy?: boolean } = {},
): Promise<Client> {
  // Lazy: no round trip now, so a process that must run while Temporal is down (the API, the saga
  // starter) starts anyway; each call then fails or succeeds on its own, within its deadline.
  const connection = await connectTemporal(config, { lazy });
  // Starts, updates and signals get a span and carry its context in the Temporal headers; with
  // no tracer provider registered both are no-ops.
  return new Client({
    connection,
    namespace: config.namespace,
    // Customer data is encrypted before it leaves the process (lib/payload-codec.ts).
    dataConverter: encryptedDataConverter(config.payloadKeys),
    interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] },
  });
}

/**
 * True when connecting failed because the Temporal frontend did not answer: the client's
 * connect deadline, or the native (worker) connection's refused or unreachable TCP connect.
 */
export function isTemporalUnreachable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'TransportError') return /tcp connect error|Connection refused|ConnectError/i.test(err.message);
  return /Failed to connect before the deadline/.test(err.message);
}

const workflowInterceptorsModule = createRequire(import.meta.url).resolve(
  '@temporalio/interceptors-opentelemetry/lib/workflow-interceptors',
);

/**
 * Worker options that trace the saga: workflow spans (exported from the sandbox through a sink,
 * never during replay), activity spans parented by the workflow's, and the activity's context
 * active while it runs, so outbox rows and log lines carry it. Empty when tracing is off.
 *
 * @example
 * await Worker.create({ ...options, ...tracingWorkerOptions(tracing) });
 */
export function tracingWorkerOptions(tracing: Tracing | undefined): Pick<WorkerOptions, 'interceptors' | 'sinks'> {
  if (!tracing?.enabled || !tracing.spanProcessor) return {};
  return {
    interceptors: {
      workflowModules: [workflowInterceptorsModule],
      activity: [
        (ctx) => ({
          inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
          outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
        }),
      ],
    },
    sinks: { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) },
  };
}

/** The worker-side (native) connection, with the same settings as the client. */
export async function createWorkerConnection(config: Config['temporal']): Promise<NativeConnection> {
  const options: NativeConnectionOptions = { address: config.address, tls: (await tlsOptions(config)) ?? false };
  if (config.apiKey) options.apiKey = config.apiKey;
  return NativeConnection.connect(options);
}
