import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import type { History } from '@temporalio/common/lib/proto-utils';
import type { Config } from './config';
import { connectTemporal } from './temporal';

/** One set of payloads of a history: the saga's input or result, or an activity's input. */
export interface PayloadSet {
  eventId: number;
  kind: 'workflow input' | 'activity input' | 'workflow result';
  /** The activity's type, for an activity input. */
  activity?: string;
  payloads: Payload[];
}

/** A payload as printed: its metadata as text, and its data as JSON when it is JSON, else base64. */
export interface PrintablePayload {
  metadata: Record<string, string>;
  data?: unknown;
  dataBase64?: string;
}

/**
 * A workflow's history as the server stores it, fetched over gRPC with no data converter at all:
 * encrypted payloads stay encrypted, exactly what anyone with access to the cluster, its database
 * or an export reads.
 *
 * @example
 * const history = await fetchStoredHistory(config.temporal, checkoutWorkflowId(orderId));
 */
export async function fetchStoredHistory(config: Config['temporal'], workflowId: string): Promise<History> {
  const connection = await connectTemporal(config);
  try {
    const { history } = await connection.workflowService.getWorkflowExecutionHistory({
      namespace: config.namespace,
      execution: { workflowId },
    });
    if (!history) throw new Error(`no history for ${workflowId}`);
    return history;
  } finally {
    await connection.close();
  }
}

/**
 * The payload sets an operator reads a saga by, in history order: its input, each activity's
 * input (with the activity's type) and its result.
 *
 * @example
 * for (const set of payloadSets(history)) console.log(set.kind, set.payloads.length);
 */
export function payloadSets(history: History): PayloadSet[] {
  const sets: PayloadSet[] = [];
  for (const event of history.events ?? []) {
    const eventId = Number(event.eventId?.toString() ?? 0);
    const started = event.workflowExecutionStartedEventAttributes?.input?.payloads;
    if (started) sets.push({ eventId, kind: 'workflow input', payloads: started });
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled?.input?.payloads) {
      const activity = scheduled.activityType?.name ?? undefined;
      sets.push({ eventId, kind: 'activity input', activity, payloads: scheduled.input.payloads });
    }
    const result = event.workflowExecutionCompletedEventAttributes?.result?.payloads;
    if (result) sets.push({ eventId, kind: 'workflow result', payloads: result });
  }
  return sets;
}

/**
 * A payload for printing: metadata values as text (`encoding`, `encryption-key-id`), the data
 * parsed when the encoding is `json/plain`, base64 otherwise (an encrypted payload's ciphertext).
 *
 * @example
 * printablePayload(stored);   // { metadata: { encoding: 'binary/encrypted', 'encryption-key-id': 'k1' }, dataBase64: '…' }
 * printablePayload(decoded);  // { metadata: { encoding: 'json/plain' }, data: { orderId: '…', … } }
 */
export function printablePayload(payload: Payload): PrintablePayload {
  const metadata = Object.fromEntries(
    Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('utf8')]),
  );
  const data = Buffer.from(payload.data ?? []);
  if (metadata[METADATA_ENCODING_KEY] === 'json/plain') return { metadata, data: JSON.parse(data.toString('utf8')) };
  if (metadata[METADATA_ENCODING_KEY] === 'binary/null') return { metadata, data: null };
  return { metadata, dataBase64: data.toString('base64') };
}

/**
 * The payload sets of a stored history for printing: as stored, or decoded by `codec` (the
 * project's encryption codec). Decoding fails with the codec's error, which names key ids only.
 *
 * @example
 * const decoded = await printableSets(payloadSets(history), new EncryptionCodec(config.temporal.payloadKeys));
 */
export async function printableSets(sets: readonly PayloadSet[], codec?: PayloadCodec) {
  return Promise.all(
    sets.map(async ({ payloads, ...set }) => ({
      ...set,
      payloads: (codec ? await codec.decode(payloads) : payloads).map(printablePayload),
    })),
  );
}
