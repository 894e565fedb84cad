import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type DataConverter, type Payload, type PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';

/** The `encoding` of an encrypted payload, as Temporal's encryption samples mark it. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Metadata key naming the key a payload was encrypted with, so keys can rotate. */
export const KEY_ID_METADATA = 'encryption-key-id';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const ALGORITHM = 'aes-256-gcm';

/** A 32-byte AES key and the id payloads name it by. */
export interface PayloadKey {
  id: string;
  key: Uint8Array;
}

/** The codec's keys: every one decodes, `currentKeyId` encodes. */
export interface PayloadKeys {
  keys: readonly PayloadKey[];
  currentKeyId: string;
}

/**
 * A payload that could not be decrypted: a key this process does not have, or a payload that was
 * changed after it was written. The message names key ids, never keys or plaintext.
 */
export class PayloadDecryptionError extends Error {
  override name = 'PayloadDecryptionError';
  constructor(
    message: string,
    /** `missing-key`: a key id this process lacks; `authentication`: the key or the data is wrong. */
    readonly reason: 'missing-key' | 'authentication' | 'malformed',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const text = (bytes: Uint8Array | null | undefined): string => Buffer.from(bytes ?? []).toString('utf8');

/**
 * AES-256-GCM over the whole payload (its metadata too, so not even the encoding of the value
 * shows). The stored payload is `nonce ‖ ciphertext ‖ tag`, marked `encoding: binary/encrypted`
 * with the key id in `encryption-key-id`; the key id is also the GCM associated data, so a payload
 * relabelled with another key's id fails to decrypt instead of decrypting under the wrong key.
 *
 * @example
 * const codec = new EncryptionCodec({ keys: [{ id: 'k1', key }], currentKeyId: 'k1' });
 * const [stored] = await codec.encode([payload]);
 */
export class EncryptionCodec implements PayloadCodec {
  private readonly keys: ReadonlyMap<string, Uint8Array>;
  private readonly current: PayloadKey;

  constructor(settings: PayloadKeys) {
    for (const k of settings.keys) {
      if (k.key.length !== 32) throw new RangeError(`payload key ${k.id}: expected 32 bytes, got ${k.key.length}`);
    }
    this.keys = new Map(settings.keys.map((k) => [k.id, k.key]));
    const current = this.keys.get(settings.currentKeyId);
    if (!current) throw new RangeError(`no payload key ${settings.currentKeyId} among the configured keys`);
    this.current = { id: settings.currentKeyId, key: current };
  }

  // async: a failure must reject the promise, never throw at the caller synchronously.
  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.encrypt(p));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.decrypt(p));
  }

  private encrypt(payload: Payload): Payload {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.current.key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(this.current.id, 'utf8'));
    const plain = proto.temporal.api.common.v1.Payload.encode(payload).finish();
    const sealed = Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: {
        [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING, 'utf8'),
        [KEY_ID_METADATA]: Buffer.from(this.current.id, 'utf8'),
      },
      data: sealed,
    };
  }

  private decrypt(payload: Payload): Payload {
    // Payloads written before the codec existed, and ones another codec owns, pass unchanged.
    if (text(payload.metadata?.[METADATA_ENCODING_KEY]) !== ENCRYPTED_ENCODING) return payload;
    const keyId = text(payload.metadata?.[KEY_ID_METADATA]);
    const key = this.keys.get(keyId);
    if (!key) {
      throw new PayloadDecryptionError(
        `payload encrypted with key ${JSON.stringify(keyId)}, which this process does not have (it has ${[...this.keys.keys()].join(', ')}); configure that key in PAYLOAD_KEYS`,
        'missing-key',
      );
    }
    const sealed = Buffer.from(payload.data ?? []);
    if (sealed.length < NONCE_BYTES + TAG_BYTES) {
      throw new PayloadDecryptionError(`payload under key ${keyId} is too short to be encrypted data`, 'malformed');
    }
    const decipher = createDecipheriv(ALGORITHM, key, sealed.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(keyId, 'utf8'));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([
        decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch (err) {
      throw new PayloadDecryptionError(
        `payload under key ${keyId} failed authentication: it was changed, or key ${keyId} is not the key it was written with`,
        'authentication',
        { cause: err },
      );
    }
    return proto.temporal.api.common.v1.Payload.decode(plain);
  }
}

/**
 * The one data converter of every Temporal client and worker the project runs (and of replay):
 * the default payload converter, then encryption. Failure messages and stack traces stay plain:
 * the saga never puts customer data in them (they are how operators read what went wrong).
 *
 * @example
 * await Worker.create({ ...options, dataConverter: encryptedDataConverter(config.temporal.payloadKeys) });
 */
export function encryptedDataConverter(keys: PayloadKeys): DataConverter {
  return { payloadCodecs: [new EncryptionCodec(keys)] };
}
