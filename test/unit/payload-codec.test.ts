import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { ConfigError, DEV_PAYLOAD_KEY, loadConfig, repoRoot } from '../../lib/config';
import { ENCRYPTED_ENCODING, EncryptionCodec, KEY_ID_METADATA, PayloadDecryptionError } from '../../lib/payload-codec';

const key = () => ({ key: randomBytes(32) });
const customer = { name: 'Ada Lovelace', line1: '12 Analytical Row', postalCode: 'N1 9GU' };
const payloadOf = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString('utf8');

describe('EncryptionCodec', () => {
  const k1 = { id: 'k1', ...key() };
  const k2 = { id: 'k2', ...key() };

  it('encrypts a payload so none of its plaintext shows, marked with the encoding and key id', async () => {
    const codec = new EncryptionCodec({ keys: [k1], currentKeyId: 'k1' });
    const [stored] = await codec.encode([payloadOf(customer)]);
    assert.ok(stored);
    assert.equal(text(stored.metadata?.encoding), ENCRYPTED_ENCODING);
    assert.equal(text(stored.metadata?.[KEY_ID_METADATA]), 'k1');
    const raw = Buffer.from(stored.data ?? []).toString('latin1');
    for (const value of [...Object.values(customer), 'json/plain']) assert.ok(!raw.includes(value), value);
    const [back] = await codec.decode([stored]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(back as Payload), customer);
  });

  it('decodes a payload written under the old key after the current key rotates', async () => {
    const before = new EncryptionCodec({ keys: [k1], currentKeyId: 'k1' });
    const [old] = await before.encode([payloadOf(customer)]);
    const after = new EncryptionCodec({ keys: [k1, k2], currentKeyId: 'k2' });
    const [fresh] = await after.encode([payloadOf('new')]);
    assert.equal(text(fresh?.metadata?.[KEY_ID_METADATA]), 'k2');
    const [decoded] = await after.decode([old as Payload]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(decoded as Payload), customer);
  });

  it('refuses a payload whose ciphertext was changed', async () => {
    const codec = new EncryptionCodec({ keys: [k1], currentKeyId: 'k1' });
    const [stored] = await codec.encode([payloadOf(customer)]);
    const data = Buffer.from(stored?.data ?? []);
    data[20] = (data[20] ?? 0) ^ 1;
    await assert.rejects(codec.decode([{ ...stored, data }]), PayloadDecryptionError);
  });

  it('refuses a payload relabelled with another key id, even one it holds', async () => {
    const codec = new EncryptionCodec({ keys: [k1, k2], currentKeyId: 'k1' });
    const [stored] = await codec.encode([payloadOf(customer)]);
    const relabelled = { ...stored, metadata: { ...stored?.metadata, [KEY_ID_METADATA]: Buffer.from('k2') } };
    await assert.rejects(codec.decode([relabelled]), /failed authentication/);
  });

  it('names the unknown key id, and never a key, when it lacks the payload key', async () => {
    const [stored] = await new EncryptionCodec({ keys: [k1], currentKeyId: 'k1' }).encode([payloadOf(customer)]);
    const other = new EncryptionCodec({ keys: [k2], currentKeyId: 'k2' });
    await assert.rejects(
      other.decode([stored as Payload]),
      (err: unknown) =>
        err instanceof PayloadDecryptionError &&
        /key "k1", which this process does not have \(it has k2\)/.test(err.message) &&
        !err.message.includes(k2.key.toString('base64')),
    );
  });

  it('passes payloads that were never encrypted through unchanged', async () => {
    const codec = new EncryptionCodec({ keys: [k1], currentKeyId: 'k1' });
    const plain = payloadOf({ legacy: true });
    assert.deepEqual(await codec.decode([plain]), [plain]);
  });
});

describe('payload key configuration', () => {
  const b64 = () => randomBytes(32).toString('base64');

  it('uses the public development key outside production, and refuses to run without keys in production', () => {
    const dev = loadConfig({}).temporal.payloadKeys;
    assert.equal(dev.usingDevKey, true);
    assert.equal(dev.currentKeyId, DEV_PAYLOAD_KEY.id);
    assert.throws(
      () => loadConfig({ NODE_ENV: 'production', API_TOKENS: 'a'.repeat(16) }),
      (err: unknown) => err instanceof ConfigError && /PAYLOAD_KEYS: required in production/.test(err.message),
    );
  });

  it('refuses the public development key in production as the current key, under any id, naming the id and never the key', () => {
    const dev = DEV_PAYLOAD_KEY.key.toString('base64');
    assert.throws(
      () =>
        loadConfig({
          NODE_ENV: 'production',
          API_TOKENS: 'a'.repeat(16),
          PAYLOAD_KEYS: `k1=${b64()},renamed=${dev}`,
          PAYLOAD_KEY_CURRENT: 'renamed',
        }),
      (err: unknown) =>
        err instanceof ConfigError &&
        /PAYLOAD_KEYS: key renamed is the public development key, refused in production as the current key/.test(
          err.message,
        ) &&
        !err.message.includes(dev),
    );
    // Listed as an old key only, it reads sagas started under it; the tokenless codec path stays shut.
    const upgrading = loadConfig({
      NODE_ENV: 'production',
      API_TOKENS: 'a'.repeat(16),
      PAYLOAD_KEYS: `k1=${b64()},dev=${dev}`,
      PAYLOAD_KEY_CURRENT: 'k1',
    });
    assert.equal(upgrading.temporal.payloadKeys.currentKeyId, 'k1');
    assert.equal(upgrading.temporal.payloadKeys.usingDevKey, false);
    const real = loadConfig({ NODE_ENV: 'production', API_TOKENS: 'a'.repeat(16), PAYLOAD_KEYS: `k1=${b64()}` });
    assert.equal(real.temporal.payloadKeys.usingDevKey, false);
  });

  it('reads several keys and the current one, and needs the current one named when there are several', () => {
    const c = loadConfig({ PAYLOAD_KEYS: `old=${b64()}, new=${b64()}`, PAYLOAD_KEY_CURRENT: 'new' });
    assert.deepEqual(
      c.temporal.payloadKeys.keys.map((k) => k.id),
      ['old', 'new'],
    );
    assert.equal(c.temporal.payloadKeys.currentKeyId, 'new');
    assert.equal(c.temporal.payloadKeys.usingDevKey, false);
    const devByValue = loadConfig({ PAYLOAD_KEYS: `dev=${DEV_PAYLOAD_KEY.key.toString('base64')}` });
    assert.equal(devByValue.temporal.payloadKeys.usingDevKey, true, 'the public key is public however it is given');
    assert.throws(() => loadConfig({ PAYLOAD_KEYS: `a=${b64()},b=${b64()}` }), /PAYLOAD_KEY_CURRENT: required/);
    assert.throws(() => loadConfig({ PAYLOAD_KEYS: `a=${b64()}`, PAYLOAD_KEY_CURRENT: 'b' }), /no key b/);
    assert.throws(() => loadConfig({ PAYLOAD_KEYS: `a=${b64()},a=${b64()}` }), /key id a appears twice/);
  });

  it('refuses a key that is not 32 bytes of base64, naming its id and never its value', () => {
    const short = randomBytes(16).toString('base64');
    assert.throws(
      () => loadConfig({ PAYLOAD_KEYS: `k1=${short}` }),
      (err: unknown) =>
        err instanceof ConfigError &&
        /key k1: expected exactly 32 bytes/.test(err.message) &&
        !err.message.includes(short),
    );
    assert.throws(() => loadConfig({ PAYLOAD_KEYS: b64() }), /<id>=<base64 key>/);
  });
});

describe('saga worker start-up with bad payload keys', () => {
  const startWorker = (env: Record<string, string>) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'workers/saga-worker.ts'], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 30_000,
    });

  it('exits 2 before connecting, naming the key id and never the key, for a key of the wrong length', () => {
    const short = randomBytes(24).toString('base64');
    const r = startWorker({ PAYLOAD_KEYS: `2026-q4=${short}` });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /PAYLOAD_KEYS\.0: key 2026-q4: expected exactly 32 bytes/);
    assert.ok(!r.stderr.includes(short) && !r.stdout.includes(short), 'the key is never printed');
  });

  it('exits 2 in production when given the public development key, naming its id', () => {
    const dev = DEV_PAYLOAD_KEY.key.toString('base64');
    const r = startWorker({ NODE_ENV: 'production', API_TOKENS: 'a'.repeat(16), PAYLOAD_KEYS: `dev=${dev}` });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /PAYLOAD_KEYS: key dev is the public development key, refused in production/);
    assert.ok(!r.stderr.includes(dev) && !r.stdout.includes(dev), 'the key is never printed');
  });

  it('exits 2 in production when no key is configured', () => {
    const r = startWorker({ NODE_ENV: 'production', API_TOKENS: 'a'.repeat(16), PAYLOAD_KEYS: '' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /PAYLOAD_KEYS/);
  });
});
