import type { NatsConnection } from 'nats';
import type { Config } from '../../lib/config';
import { connectNats, declareStreams } from '../../lib/nats';

/**
 * Connects to the stack's NATS and declares every stream, as each process does at start. Fails
 * loudly, with what to run, when NATS is not reachable: tests never skip silently.
 *
 * @example
 * nc = await connectTestNats(config, 'relay-test');
 */
export async function connectTestNats(config: Config, name: string): Promise<NatsConnection> {
  let nc: NatsConnection;
  try {
    nc = await connectNats(config.nats, name);
  } catch (err) {
    throw new Error(
      `NATS is not reachable at ${config.nats.servers.join(',')} (${(err as Error).message}); run \`npm run stack:up\` first`,
    );
  }
  await declareStreams(nc, config.nats);
  return nc;
}
