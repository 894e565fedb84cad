import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { sleep } from '../../lib/wait';

/** A toxic as toxiproxy's HTTP API takes it (`POST /proxies/{proxy}/toxics`). */
export interface Toxic {
  name: string;
  type: 'latency' | 'reset_peer' | 'timeout' | 'bandwidth' | 'limit_data';
  stream: 'upstream' | 'downstream';
  toxicity: number;
  /** latency: {latency, jitter} ms; reset_peer / timeout: {timeout} ms (0: at once / forever); bandwidth: {rate} KB/s; limit_data: {bytes}. */
  attributes: Record<string, number>;
}

/**
 * A client of toxiproxy's HTTP API: proxies (listen -> upstream), their toxics, and enabling or
 * disabling a proxy (a disabled one refuses and drops every connection).
 *
 * @example
 * const tp = new ToxiproxyApi('http://127.0.0.1:21000');
 * await tp.createProxy('api-postgres', '127.0.0.1:21001', '127.0.0.1:55495');
 * await tp.addToxic('api-postgres', { name: 'slow', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 9000 } });
 */
export class ToxiproxyApi {
  constructor(private readonly baseUrl: string) {}

  private async call(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(5_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`toxiproxy ${method} ${path} answered ${res.status}: ${text.slice(0, 200)}`);
    return text ? (JSON.parse(text) as unknown) : undefined;
  }

  version(): Promise<unknown> {
    return this.call('GET', '/version');
  }

  async createProxy(name: string, listen: string, upstream: string): Promise<void> {
    await this.call('POST', '/proxies', { name, listen, upstream, enabled: true });
  }

  async setEnabled(name: string, enabled: boolean): Promise<void> {
    await this.call('POST', `/proxies/${encodeURIComponent(name)}`, { enabled });
  }

  async addToxic(proxy: string, toxic: Toxic): Promise<void> {
    await this.call('POST', `/proxies/${encodeURIComponent(proxy)}/toxics`, toxic);
  }

  async removeToxic(proxy: string, toxic: string): Promise<void> {
    await this.call('DELETE', `/proxies/${encodeURIComponent(proxy)}/toxics/${encodeURIComponent(toxic)}`);
  }

  /** Every proxy enabled again, every toxic removed: the heal. */
  async reset(): Promise<void> {
    await this.call('POST', '/reset');
  }
}

/** A toxiproxy server this run started. */
export interface ToxiproxyServer {
  api: ToxiproxyApi;
  stop(): Promise<void>;
}

/**
 * Starts the toxiproxy server (`binary`, built by `scripts/stack/cli.ts up --tools toxiproxy`) with
 * its API on 127.0.0.1:`port`, logging to `logFile`, and waits until the API answers.
 *
 * @example
 * const tp = await startToxiproxy(installedGoTool(binDir, 'toxiproxy'), 21000, 'toxiproxy.log');
 * ...
 * await tp.stop();
 */
export async function startToxiproxy(binary: string, port: number, logFile: string): Promise<ToxiproxyServer> {
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(binary, ['-host', '127.0.0.1', '-port', String(port)], { stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const api = new ToxiproxyApi(`http://127.0.0.1:${port}`);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([exited, sleep(5_000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const deadline = Date.now() + 15_000;
  let last = '';
  while (Date.now() < deadline) {
    const failed = await Promise.race([spawnError, sleep(200).then(() => undefined)]);
    if (failed) throw new Error(`could not start toxiproxy (${binary}): ${failed.message}`);
    try {
      await api.version();
      return { api, stop };
    } catch (err) {
      last = (err as Error).message;
    }
  }
  await stop();
  throw new Error(`toxiproxy did not answer on 127.0.0.1:${port} within 15s (${last}); see ${logFile}`);
}
