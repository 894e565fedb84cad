import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EncryptionCodec } from '../../lib/payload-codec';
import { TEST_PAYLOAD_KEYS } from '../support/payload-keys';
import { HISTORIES_DIR } from './histories-dir';
import { encryptHistoryPayloads } from './history-payloads';

/**
 * `npm run histories:encrypt`: rewrites every replay fixture so its payloads are encrypted with
 * the test key, as a history recorded today is (`npm run histories:record` records through the
 * codec). Only payloads change; events and their order stay, so every version still replays.
 * Running it again changes nothing.
 */
const codec = new EncryptionCodec(TEST_PAYLOAD_KEYS);
for (const file of readdirSync(HISTORIES_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()) {
  const path = join(HISTORIES_DIR, file);
  const history = JSON.parse(readFileSync(path, 'utf8')) as Parameters<typeof encryptHistoryPayloads>[0];
  const count = await encryptHistoryPayloads(history, codec);
  if (count > 0) writeFileSync(path, `${JSON.stringify(history, null, 2)}\n`);
  console.log(`${file}: ${count === 0 ? 'already encrypted' : `${count} payloads encrypted`}`);
}
