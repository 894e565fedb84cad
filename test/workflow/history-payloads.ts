import type { PayloadCodec } from '@temporalio/common';
import { payloadsFromJson, payloadsToJson, type PayloadsJson } from '../../codec-server/payloads-json';
import { ENCRYPTED_ENCODING } from '../../lib/payload-codec';

type PayloadJson = PayloadsJson['payloads'][number];
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Where a history (as JSON) may hold a plain payload with an encrypted codec: what the SDK never
 * runs through a codec (search attributes, headers), and what Temporal's core writes itself in
 * its markers: a patch marker's patch id, and a local activity marker's `data` (sequence number,
 * activity type, attempt and times; the activity's result beside it is encrypted).
 */
function mayStayPlain(path: readonly string[]): boolean {
  const markerData = path.includes('markerRecordedEventAttributes') && path[path.indexOf('details') + 1] === 'data';
  return path.includes('searchAttributes') || path.includes('header') || path.includes('patch-data') || markerData;
}

function isPayload(value: Json): value is Json & PayloadJson {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const metadata = value.metadata;
  return typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata) && 'encoding' in metadata;
}

const encodingOf = (p: PayloadJson) => Buffer.from(p.metadata?.encoding ?? '', 'base64').toString('utf8');

function visitPayloads(value: Json, path: string[], visit: (payload: PayloadJson, path: string[]) => void): void {
  if (isPayload(value)) return visit(value, path);
  if (Array.isArray(value)) value.forEach((v, i) => visitPayloads(v, [...path, String(i)], visit));
  else if (typeof value === 'object' && value !== null)
    for (const [k, v] of Object.entries(value)) visitPayloads(v, [...path, k], visit);
}

/** Paths of the payloads of `history` (JSON) that are plain where they should be encrypted. */
export function plainPayloadPaths(history: Json): string[] {
  const plain: string[] = [];
  visitPayloads(history, [], (payload, path) => {
    if (!mayStayPlain(path) && encodingOf(payload) !== ENCRYPTED_ENCODING) plain.push(path.join('.'));
  });
  return plain;
}

/**
 * Encrypts, in place, every payload of `history` (JSON) that the SDK would have encrypted had
 * the codec existed when it was recorded. Events, ids and every other field stay as they were,
 * so the history replays exactly as before. Already encrypted payloads are left alone.
 *
 * @returns how many payloads it encrypted.
 */
export async function encryptHistoryPayloads(history: Json, codec: PayloadCodec): Promise<number> {
  const pending: { payload: PayloadJson; path: string[] }[] = [];
  visitPayloads(history, [], (payload, path) => {
    if (!mayStayPlain(path) && encodingOf(payload) !== ENCRYPTED_ENCODING) pending.push({ payload, path });
  });
  for (const { payload } of pending) {
    const [encrypted] = payloadsToJson(await codec.encode(payloadsFromJson({ payloads: [payload] }))).payloads;
    if (!encrypted) throw new Error('the codec returned no payload');
    for (const key of Object.keys(payload)) delete (payload as Record<string, unknown>)[key];
    Object.assign(payload, encrypted);
  }
  return pending.length;
}
