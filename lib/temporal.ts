import { readFile } from 'node:fs/promises';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import type { Config } from './config';

async function tlsOptions(config: Config['temporal']): Promise<ConnectionOptions['tls']> {
  if (!config.tls) return undefined;
  if (config.tlsCertFile && config.tlsKeyFile) {
    return { clientCertPair: { crt: await readFile(config.tlsCertFile), key: await readFile(config.tlsKeyFile) } };
  }
  return true;
}

/**
 * A Temporal client for the configured address, namespace and credentials (local dev server,
 * a self-hosted cluster with mTLS, or Temporal Cloud with an API key).
 *
 * @example
 * const client = await createTemporalClient(config.temporal);
 */
export async function createTemporalClient(config: Config['temporal']): Promise<Client> {
  const options: ConnectionOptions = { address: config.address, tls: await tlsOptions(config) };
  if (config.apiKey) options.apiKey = config.apiKey;
  const connection = await Connection.connect(options);
  return new Client({ connection, namespace: config.namespace });
}

/** The worker-side (native) connection, with the same settings as the client. */
export async function createWorkerConnection(config: Config['temporal']): Promise<NativeConnection> {
  const options: NativeConnectionOptions = { address: config.address, tls: (await tlsOptions(config)) ?? false };
  if (config.apiKey) options.apiKey = config.apiKey;
  return NativeConnection.connect(options);
}
