import { parseArgs } from 'node:util';
import { checkoutWorkflowId, UUID_PATTERN } from '../domain/order';
import { loadConfigOrExit } from '../lib/main';
import { EncryptionCodec } from '../lib/payload-codec';
import { fetchStoredHistory, payloadSets, printableSets } from '../lib/saga-history';

const USAGE = `Show one saga's payloads (its input, each activity's input, its result) as JSON.

Usage: npm run saga:show -- <orderId> [--raw]

  (default)  decoded with PAYLOAD_KEYS: the customer data as the saga saw it
  --raw      as Temporal stores them: encoding binary/encrypted, the key id, base64 ciphertext

Reads TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE (and TEMPORAL_API_KEY / TLS) like every process.
Exit status: 0 shown, 1 not found or not decodable (a key PAYLOAD_KEYS lacks), 2 usage error.`;

function parse(argv: string[]): { orderId: string; raw: boolean } | undefined {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { raw: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
      allowPositionals: true,
    });
    const [orderId] = positionals;
    if (values.help || positionals.length !== 1 || !orderId || !UUID_PATTERN.test(orderId)) return undefined;
    return { orderId, raw: values.raw };
  } catch {
    return undefined;
  }
}

const args = parse(process.argv.slice(2));
if (!args) {
  console.error(USAGE);
  process.exit(2);
}
const config = loadConfigOrExit();
const workflowId = checkoutWorkflowId(args.orderId);
try {
  const sets = payloadSets(await fetchStoredHistory(config.temporal, workflowId));
  const codec = args.raw ? undefined : new EncryptionCodec(config.temporal.payloadKeys);
  const view = args.raw
    ? 'raw (as stored)'
    : `decoded (keys ${config.temporal.payloadKeys.keys.map((k) => k.id).join(', ')})`;
  const payloads = await printableSets(sets, codec);
  console.log(JSON.stringify({ workflowId, namespace: config.temporal.namespace, view, payloads }, null, 2));
} catch (err) {
  console.error(`${workflowId}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
