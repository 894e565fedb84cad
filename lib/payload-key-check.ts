import type { Client } from '@temporalio/client';
import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { Config } from './config';
import { ConfigError } from './config-values';
import type { Logger } from './logger';
import { EncryptionCodec, KEY_ID_METADATA, PayloadDecryptionError } from './payload-codec';

/** How many of the newest sagas the check reads: one history page of one event each. */
export const KEY_CHECK_SAMPLE = 20;

const RUNNING = proto.temporal.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING;

export interface PayloadKeyCheck {
  /** Each key id found among the sagas read, and a saga whose input it decrypted. */
  verified: { keyId: string; workflowId: string }[];
  sagasRead: number;
}

const keyIdOf = (p: Payload): string => Buffer.from(p.metadata?.[KEY_ID_METADATA] ?? []).toString('utf8');

/**
 * Checks the process's payload keys against what the cluster holds, before it takes work: a
 * well-formed key that is not the one payloads were written with passes every start-up parse,
 * then fails each workflow task it touches (or, in a starter, writes sagas no worker can read).
 * It reads the input of the {@link KEY_CHECK_SAMPLE} newest sagas (raw, through the client's
 * gRPC service, never its data converter) and decrypts them. A key id is verified by one saga it
 * decrypts: the key is then right, and a saga under that id it cannot decrypt was written by a
 * process with a wrong key (logged as an error, with its id). A configured key that decrypts none
 * of its sagas is wrong: a {@link ConfigError}. A running saga under a key id this process lacks
 * is logged as an error, not refused: this process can still run every other saga, and another
 * worker may hold that key (a closed saga under a retired key is expected and not reported). A
 * cluster with no saga yet has nothing to check against.
 *
 * @example
 * await checkPayloadKeys(client, new EncryptionCodec(keys), { namespace, workflowType, logger });
 */
export async function checkPayloadKeys(
  client: Client,
  codec: PayloadCodec,
  opts: {
    namespace: string;
    workflowType: string;
    logger: Logger;
    /** Narrows the sagas read (a visibility query ANDed to the workflow type); tests name their own. */
    narrowTo?: string;
  },
): Promise<PayloadKeyCheck> {
  const { namespace } = opts;
  const { executions } = await client.workflowService.listWorkflowExecutions({
    namespace,
    pageSize: KEY_CHECK_SAMPLE,
    query: [`WorkflowType = '${opts.workflowType}'`, opts.narrowTo].filter(Boolean).join(' AND '),
  });
  const verified = new Map<string, string>();
  const failed = new Map<string, { workflowId: string; message: string }[]>();
  const lacking = new Map<string, string[]>();
  let sagasRead = 0;
  for (const e of executions.slice(0, KEY_CHECK_SAMPLE)) {
    const workflowId = e.execution?.workflowId ?? '';
    const { history } = await client.workflowService.getWorkflowExecutionHistory({
      namespace,
      execution: e.execution,
      maximumPageSize: 1,
    });
    sagasRead++;
    const input = history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    const payload = input as Payload | undefined;
    const keyId = payload ? keyIdOf(payload) : '';
    if (!payload || !keyId || verified.has(keyId)) continue;
    try {
      await codec.decode([payload]);
      verified.set(keyId, workflowId);
    } catch (err) {
      if (!(err instanceof PayloadDecryptionError)) throw err;
      if (err.reason === 'missing-key') {
        // A closed saga under a retired key needs no worker any more: retiring keys is the point.
        if (e.status === RUNNING) lacking.set(keyId, [...(lacking.get(keyId) ?? []), workflowId]);
        continue;
      }
      failed.set(keyId, [...(failed.get(keyId) ?? []), { workflowId, message: err.message }]);
    }
  }
  for (const [keyId, failures] of failed) {
    const first = failures[0];
    if (!first) continue;
    if (!verified.has(keyId))
      throw new ConfigError(
        `PAYLOAD_KEYS does not match the cluster's sagas: ${first.message} (${failures.length} of the newest sagas use ${keyId} and none could be read, e.g. ${first.workflowId})`,
      );
    opts.logger.error(
      { keyId, sagas: failures.map((f) => f.workflowId) },
      'sagas under a verified payload key do not decrypt: a process wrote them with a wrong key',
    );
  }
  for (const [keyId, sagas] of lacking)
    opts.logger.error({ keyId, sagas }, 'running sagas use a payload key this process does not have');
  const result = { verified: [...verified].map(([keyId, workflowId]) => ({ keyId, workflowId })), sagasRead };
  opts.logger.info({ payloadKeysVerified: result.verified.map((v) => v.keyId), sagasRead }, 'payload keys checked');
  return result;
}

/**
 * {@link checkPayloadKeys} for a process's start-up, through the process's own `client` (a lazy
 * one is fine): the checkout saga's workflow type on the configured task queue, namespace and
 * keys. A cluster that does not answer, or answers with an error or too slowly, is not a key
 * problem: the check is skipped with a warning (the saga starter must start while Temporal is
 * down), and the process goes on.
 */
export async function checkKeysAgainstCluster(client: Client, config: Config, logger: Logger): Promise<void> {
  try {
    // Bounded: a Temporal that accepts the connection but does not answer must not hold the start.
    await client.withDeadline(Date.now() + KEY_CHECK_DEADLINE_MS, () =>
      checkPayloadKeys(client, new EncryptionCodec(config.temporal.payloadKeys), {
        namespace: config.temporal.namespace,
        workflowType: SAGA_WORKFLOW_TYPE,
        // This deployment's sagas: another one may share the namespace under its own keys.
        narrowTo: `TaskQueue = '${config.temporal.taskQueue}'`,
        logger,
      }),
    );
  } catch (err) {
    // Only a key proven wrong stops the process; a failing or slow read is not about the keys.
    if (err instanceof ConfigError) throw err;
    logger.warn({ err }, 'payload keys not checked: reading the newest sagas failed');
  }
}

/** How long the check may take before the process starts without it. */
export const KEY_CHECK_DEADLINE_MS = 10_000;

/** The saga's workflow type (the function's name in workflows/checkout-saga.ts). */
export const SAGA_WORKFLOW_TYPE = 'checkoutSaga';
