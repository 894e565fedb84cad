/**
 * Customer data in Temporal is encrypted: the raw history of a finished saga, as anyone with
 * access to the cluster, its database or an export reads it, holds no name, address line or
 * postal code; the codec server shows them to a caller with a token, and to no one else.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { checkoutWorkflowId } from '../../domain/order';
import type { Config } from '../../lib/config';
import type { Db } from '../../lib/db';
import { fetchStoredHistory } from '../../lib/saga-history';
import { runCodecServer } from '../../workers/codec-server';
import { runRelay } from '../../workers/relay';
import { runSagaWorker } from '../../workers/saga-worker';
import { checkoutRequest, startApi } from '../support/api';
import { RunningComponents } from '../support/components';
import { eventually, testConfig, testDb, testLogger } from '../support/services';

const OPERATOR = 'codec-operator-token-0123456789';
const READER = 'codec-reader-token-0123456789ab';
const UI_ORIGIN = 'http://ui.example:8080';

interface PayloadJson {
  metadata?: Record<string, string>;
  data?: string;
}

/** The history as the server stores it (no data converter), as JSON. */
const rawHistory = async (config: Config, workflowId: string): Promise<string> =>
  historyToJSON(await fetchStoredHistory(config.temporal, workflowId));

/** Every payload's data, base64-decoded: plaintext hides there in an unencrypted history. */
const payloadTexts = (historyJson: string): string[] =>
  [...historyJson.matchAll(/"data":\s*"([A-Za-z0-9+/=]*)"/g)].map((m) =>
    Buffer.from(m[1] ?? '', 'base64').toString('latin1'),
  );

describe('customer data in Temporal payloads', () => {
  let config: Config;
  let db: Db | undefined;
  let codecUrl = '';
  let raw = '';
  let startedInput: PayloadJson[] = [];
  const components = new RunningComponents();
  const tag = randomUUID().slice(0, 8);
  const address = {
    name: `Grace Hopper ${tag}`,
    line1: `${tag} Compiler Lane`,
    city: 'Arlington',
    postalCode: `ZX${tag.slice(0, 5)}`,
  };

  before(async () => {
    config = testConfig({
      API_TOKENS: `${OPERATOR},${READER}:checkout:read`,
      PAYLOAD_KEYS: `e2e-${tag}=${randomBytes(32).toString('base64')}`,
      PORT: '0',
      CODEC_SERVER_PORT: '0',
      CODEC_CORS_ORIGINS: UI_ORIGIN,
    });
    db = await testDb(config);
    const logger = testLogger('payload-encryption');
    const api = startApi(config, logger, components.signal);
    let onCodec: (port: number) => void = () => undefined;
    const codecPort = new Promise<number>((resolve) => (onCodec = resolve));
    components.add(
      api.running,
      runSagaWorker(config, logger, components.signal),
      runRelay(config, logger, components.signal),
      runCodecServer(config, logger, components.signal, onCodec),
    );
    const base = await Promise.race([api.base, components.stoppedEarly()]);
    codecUrl = `http://127.0.0.1:${await Promise.race([codecPort, components.stoppedEarly()])}/codec`;

    const headers = { Authorization: `Bearer ${OPERATOR}`, 'Content-Type': 'application/json' };
    const placed = await fetch(`${base}/checkouts`, {
      method: 'POST',
      headers: { ...headers, 'Idempotency-Key': randomUUID() },
      body: JSON.stringify({
        ...checkoutRequest({ customerId: `cust-codec-${tag}` }),
        shippingAddress: { ...address, country: 'DE' },
      }),
    });
    assert.equal(placed.status, 202, await placed.clone().text());
    const { orderId } = (await placed.json()) as { orderId: string };
    const status = await Promise.race([
      eventually(
        async () => {
          const res = await fetch(`${base}/checkouts/${orderId}`, { headers });
          const s = ((await res.json()) as { status?: string }).status;
          return ['COMPLETED', 'FAILED', 'CANCELLED'].includes(String(s)) ? s : undefined;
        },
        60_000,
        `order ${orderId} to settle`,
      ),
      components.stoppedEarly(),
    ]);
    assert.equal(status, 'COMPLETED');
    raw = await rawHistory(config, checkoutWorkflowId(orderId));
    const history = JSON.parse(raw) as {
      events: { workflowExecutionStartedEventAttributes?: { input?: { payloads?: PayloadJson[] } } }[];
    };
    startedInput = history.events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
  });

  after(async () => {
    await components.stopAll();
    await db?.end();
  });

  const decode = (headers: Record<string, string>, payloads: PayloadJson[] = startedInput) =>
    fetch(`${codecUrl}/decode`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Namespace': config.temporal.namespace, ...headers },
      body: JSON.stringify({ payloads }),
    });

  it('stores no name, address line or postal code anywhere in the raw history', () => {
    assert.ok(startedInput.length === 1, 'the saga was started with one input payload');
    const encoding = Buffer.from(startedInput[0]?.metadata?.encoding ?? '', 'base64').toString('utf8');
    assert.equal(encoding, 'binary/encrypted');
    for (const secret of [address.name, address.line1, address.postalCode]) {
      assert.ok(!raw.includes(secret), `raw history JSON holds ${secret}`);
      const hit = payloadTexts(raw).find((t) => t.includes(secret));
      assert.equal(hit, undefined, `a payload of the raw history holds ${secret}`);
    }
  });

  it('shows them through the codec server to a caller with a checkout:any token', async () => {
    const res = await decode({ Authorization: `Bearer ${OPERATOR}` });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { payloads: PayloadJson[] };
    const decoded = body.payloads.map((p) => Buffer.from(p.data ?? '', 'base64').toString('utf8'));
    const input = JSON.parse(decoded[0] ?? '{}') as { shippingAddress?: Record<string, string> };
    assert.deepEqual(input.shippingAddress, { ...address, country: 'DE' });
    assert.equal(Buffer.from(body.payloads[0]?.metadata?.encoding ?? '', 'base64').toString(), 'json/plain');
  });

  it('refuses a request without a token with 401, even from the Web UI origin, and a token without checkout:any with 403', async () => {
    const anonymous = await decode({});
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('WWW-Authenticate') ?? '', /^Bearer/);
    assert.equal((await decode({ Origin: UI_ORIGIN })).status, 401, 'configured keys: no anonymous UI access');
    assert.equal((await decode({ Authorization: 'Bearer not-a-known-token-000000' })).status, 401);
    const reader = await decode({ Authorization: `Bearer ${READER}` });
    assert.equal(reader.status, 403);
    assert.ok(!(await reader.text()).includes(address.name));
  });

  it("answers the Web UI's CORS preflight for its origin only, credentials allowed", async () => {
    const preflight = (origin: string) =>
      fetch(`${codecUrl}/decode`, {
        method: 'OPTIONS',
        headers: {
          Origin: origin,
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'content-type,x-namespace,authorization',
        },
      });
    const ui = await preflight(UI_ORIGIN);
    assert.equal(ui.status, 204);
    assert.equal(ui.headers.get('Access-Control-Allow-Origin'), UI_ORIGIN);
    assert.equal(ui.headers.get('Access-Control-Allow-Credentials'), 'true');
    assert.match(ui.headers.get('Access-Control-Allow-Headers') ?? '', /X-Namespace/i);
    const other = await preflight('http://evil.example');
    assert.equal(other.headers.get('Access-Control-Allow-Origin'), null);
  });

  it('refuses a payload it cannot decrypt with 422, naming only the key id', async () => {
    const relabelled = startedInput.map((p) => ({
      ...p,
      metadata: { ...p.metadata, 'encryption-key-id': Buffer.from('retired-key').toString('base64') },
    }));
    const res = await decode({ Authorization: `Bearer ${OPERATOR}` }, relabelled);
    assert.equal(res.status, 422);
    assert.match(await res.text(), /retired-key/);
  });
});
