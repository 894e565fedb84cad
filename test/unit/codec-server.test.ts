import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createAuthenticator } from '../../auth/authenticate';
import { createCodecApp } from '../../codec-server/app';
import { EncryptionCodec } from '../../lib/payload-codec';
import { testLogger } from '../support/services';

const UI = 'http://127.0.0.1:8233';
const TOKEN = 'codec-unit-token-0123456789';

function app(openToUiOrigins: boolean) {
  return createCodecApp({
    codec: new EncryptionCodec({ keys: [{ id: 'k', key: randomBytes(32) }], currentKeyId: 'k' }),
    authenticator: createAuthenticator({ serviceTokens: [{ token: TOKEN, scopes: ['checkout:any'] }], jwt: undefined }),
    corsOrigins: [UI],
    openToUiOrigins,
    logger: testLogger('codec-server'),
  });
}

const post = (a: ReturnType<typeof app>, path: string, headers: Record<string, string>, body: unknown) =>
  a.request(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

const plain = { payloads: [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: 'e30=' }] };

describe('codec server app', () => {
  it('round-trips payloads through /codec/encode and /codec/decode in the Web UI JSON shape', async () => {
    const a = app(false);
    const encoded = (await (await post(a, '/codec/encode', { Authorization: `Bearer ${TOKEN}` }, plain)).json()) as {
      payloads: { metadata: Record<string, string> }[];
    };
    assert.equal(Buffer.from(encoded.payloads[0]?.metadata.encoding ?? '', 'base64').toString(), 'binary/encrypted');
    const decoded = await post(a, '/codec/decode', { Authorization: `Bearer ${TOKEN}` }, encoded);
    assert.deepEqual(await decoded.json(), plain);
  });

  it('lets the UI origin decode without a token only with the public development key', async () => {
    assert.equal((await post(app(true), '/codec/encode', { Origin: UI }, plain)).status, 200);
    assert.equal((await post(app(true), '/codec/encode', {}, plain)).status, 401, 'not without the UI origin');
    assert.equal((await post(app(false), '/codec/encode', { Origin: UI }, plain)).status, 401, 'not with real keys');
  });

  it('answers 400 with the expected shape for a body that is not payloads', async () => {
    const res = await post(
      app(false),
      '/codec/decode',
      { Authorization: `Bearer ${TOKEN}` },
      { payloads: [{ data: '%%' }] },
    );
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { detail: string }).detail, /"payloads"/);
  });
});
