import { parseArgs } from 'node:util';
import type { NatsConnection } from 'nats';
import {
  assertConsumerName,
  DeadLetterNotFound,
  discardDeadLetter,
  listDeadLetters,
  showDeadLetter,
  type DeadLetterEntry,
} from '../events/dead-letters/admin';
import { replayAll, replayDeadLetter, type ReplayOutcome, type ReplayResult } from '../events/dead-letters/replay';
import { checkoutWorkflowId } from '../domain/order';
import type { Config } from '../lib/config';
import { loadConfigOrExit } from '../lib/main';
import { connectNats } from '../lib/nats';

const USAGE = `Inspect, replay and discard dead letters (stream DLQ, subjects dlq.<consumer>.<subject>).

Usage: npm run dlq -- <command> [options]

  list [--consumer NAME] [--order ID] [--limit N] [--json]
                      dead letters, oldest first (--order: only those of one order)
  show <seq> [--json] the order, its saga's workflow id and Web UI link, then every
                      header and the body of one dead letter
  replay <seq>        republish to its original subject, then remove it from the DLQ
  replay --all [--consumer NAME] [--json]
                      replay every dead letter (of one consumer), continuing past failures
  discard <seq>       remove a dead letter without replaying it

A replay reaches every consumer of the original stream; consumers deduplicate by event id, so
only those that never applied the event apply it.

Exit status: 0 done, 1 an operation failed (unknown sequence, a failed replay, NATS down),
2 usage error.`;

class UsageError extends Error {}

/** Exit status for a usage error: wrong command, option or argument. */
const EXIT_USAGE = 2;

interface Command {
  name: 'list' | 'show' | 'replay' | 'discard';
  seq?: number;
  all: boolean;
  consumer?: string;
  order?: string;
  limit?: number;
  json: boolean;
}

/** Where an order's saga is: its workflow id and the Web UI's list of its runs. */
interface SagaLink {
  orderId: string;
  workflowId: string;
  webUi: string;
}

/** The saga of the order a dead letter is about (its CloudEvents subject), if it names one. */
function sagaLink(config: Config, orderId: string | undefined): SagaLink | undefined {
  if (orderId === undefined) return undefined;
  const workflowId = checkoutWorkflowId(orderId);
  const query = encodeURIComponent(`WorkflowId="${workflowId}"`);
  const namespace = encodeURIComponent(config.temporal.namespace);
  return { orderId, workflowId, webUi: `${config.temporal.uiUrl}/namespaces/${namespace}/workflows?query=${query}` };
}

function parseSeq(text: string | undefined): number {
  if (text === undefined) throw new UsageError('missing <seq> (the DLQ stream sequence shown by `list`)');
  if (!/^[1-9]\d*$/.test(text) || !Number.isSafeInteger(Number(text)))
    throw new UsageError(`not a sequence number: ${text}`);
  return Number(text);
}

function parseCommand(argv: string[]): Command | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      consumer: { type: 'string' },
      order: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean', default: false },
      all: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || positionals[0] === 'help') return 'help';
  const [name, ...args] = positionals;
  if (name === undefined) throw new UsageError('missing command');
  if (name !== 'list' && name !== 'show' && name !== 'replay' && name !== 'discard')
    throw new UsageError(`unknown command: ${name}`);
  const allowed: Record<Command['name'], string[]> = {
    list: ['consumer', 'order', 'limit', 'json'],
    show: ['json'],
    replay: values.all ? ['all', 'consumer', 'json'] : [],
    discard: [],
  };
  const given = Object.entries(values)
    .filter(([k, v]) => k !== 'help' && v !== undefined && v !== false)
    .map(([k]) => k);
  const unexpected = given.find((k) => !allowed[name].includes(k));
  if (unexpected) throw new UsageError(`--${unexpected} does not apply to \`${name}${values.all ? ' --all' : ''}\``);
  const cmd: Command = { name, all: values.all, json: values.json };
  if (values.consumer !== undefined) {
    try {
      assertConsumerName(values.consumer);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    cmd.consumer = values.consumer;
  }
  if (values.order !== undefined) {
    // Order ids are UUIDs; anything else could never match and is most likely a pasted mistake.
    if (!/^[A-Za-z0-9-]{1,64}$/.test(values.order))
      throw new UsageError(`--order needs an order id (letters, digits, -), got ${values.order}`);
    cmd.order = values.order;
  }
  if (values.limit !== undefined) {
    if (!/^[1-9]\d*$/.test(values.limit)) throw new UsageError(`--limit needs a positive integer, got ${values.limit}`);
    cmd.limit = Number(values.limit);
  }
  const takesSeq = name === 'show' || name === 'discard' || (name === 'replay' && !values.all);
  if (takesSeq) cmd.seq = parseSeq(args.shift());
  if (args.length > 0)
    throw new UsageError(
      `unexpected argument: ${args[0]}${name === 'replay' && values.all ? ' (--all takes no <seq>)' : ''}`,
    );
  return cmd;
}

function age(time: Date, now: Date): string {
  const s = Math.max(0, Math.round((now.getTime() - time.getTime()) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7_200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3_600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** Aligns columns; the last one is not padded, so it can be truncated to what is left of the line. */
function table(rows: string[][], lastWidth: (used: number) => number): string[] {
  const cols = rows[0]?.length ?? 0;
  const widths = Array.from({ length: cols - 1 }, (_, i) => Math.max(...rows.map((r) => r[i]?.length ?? 0)));
  const max = lastWidth(widths.reduce((sum, w) => sum + w + 2, 0));
  return rows.map((r) => r.map((c, i) => (i === cols - 1 ? truncate(c, max) : c.padEnd(widths[i] ?? 0))).join('  '));
}

function printList(entries: DeadLetterEntry[], cmd: Command): void {
  if (entries.length === 0) {
    const of = [cmd.consumer && `consumer ${cmd.consumer}`, cmd.order && `order ${cmd.order}`].filter(Boolean);
    console.log(of.length > 0 ? `no dead letters for ${of.join(' and ')}` : 'no dead letters');
    return;
  }
  const now = new Date();
  const rows = [
    ['SEQ', 'AGE', 'DEAD-LETTERED', 'CONSUMER', 'ORIGINAL SUBJECT', 'ORDER', 'DELIVERIES', 'ERROR'],
    ...entries.map((e) => [
      String(e.seq),
      age(e.time, now),
      e.time.toISOString().replace(/\.\d+Z$/, 'Z'),
      e.consumer,
      e.originalSubject,
      e.eventSubject ?? '-',
      e.deliveryCount === undefined ? '-' : String(e.deliveryCount),
      e.error.replace(/\s+/g, ' '),
    ]),
  ];
  const lineWidth = process.stdout.isTTY && process.stdout.columns ? process.stdout.columns : 160;
  console.log(table(rows, (used) => Math.max(30, lineWidth - used)).join('\n'));
  console.log(`\n${entries.length} dead letter(s); \`npm run dlq -- show <seq>\` for headers and body`);
}

function bodyForDisplay(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

function replayLine(r: ReplayResult): string {
  const dup = r.duplicate ? ' (an earlier attempt had already published it; JetStream deduplicated this one)' : '';
  return `replayed ${r.seq} to ${r.subject} (${r.stream} #${r.streamSequence}) and removed it from the DLQ${dup}`;
}

function outcomeJson(o: ReplayOutcome): Record<string, unknown> {
  return o.ok ? { ...o.result, ok: true } : { seq: o.seq, ok: false, error: o.error.message };
}

/** Runs one command; resolves to the exit status. */
async function run(nc: NatsConnection, cmd: Command, config: Config): Promise<number> {
  const jsm = await nc.jetstreamManager();
  const js = nc.jetstream();
  switch (cmd.name) {
    case 'list': {
      const entries = await listDeadLetters(jsm, { consumer: cmd.consumer, limit: cmd.limit, eventSubject: cmd.order });
      if (cmd.json)
        console.log(
          JSON.stringify(
            entries.map((e) => ({ ...e, orderId: e.eventSubject })),
            null,
            2,
          ),
        );
      else printList(entries, cmd);
      return 0;
    }
    case 'show': {
      const d = await showDeadLetter(jsm, cmd.seq ?? 0);
      const { data: _data, body, ...rest } = d;
      const saga = sagaLink(config, d.eventSubject);
      if (cmd.json) {
        console.log(JSON.stringify({ ...rest, ...saga, body: bodyForDisplay(body) }, null, 2));
        return 0;
      }
      console.log(
        `dead letter ${d.seq} on ${d.subject}, stored ${d.time.toISOString()} (${age(d.time, new Date())} ago)`,
      );
      console.log(
        `consumer ${d.consumer} failed ${d.originalSubject} (${d.originalStream ?? '?'} #${d.originalSequence ?? '?'}) after ${d.deliveryCount ?? '?'} deliveries`,
      );
      if (saga) {
        console.log(`order ${saga.orderId}, saga workflow ${saga.workflowId}`);
        console.log(`Web UI ${saga.webUi}`);
      } else console.log('order unknown: the body names no CloudEvents subject');
      console.log('\nheaders:');
      for (const [k, vs] of Object.entries(d.headers)) for (const v of vs) console.log(`  ${k}: ${v}`);
      const shown = bodyForDisplay(body);
      console.log(`\nbody (${d.data.length} bytes):`);
      console.log(typeof shown === 'string' ? shown : JSON.stringify(shown, null, 2));
      return 0;
    }
    case 'replay': {
      if (!cmd.all) {
        const r = await replayDeadLetter(js, jsm, cmd.seq ?? 0);
        console.log(cmd.json ? JSON.stringify(r, null, 2) : replayLine(r));
        return 0;
      }
      const outcomes = await replayAll(js, jsm, { consumer: cmd.consumer }, (o) => {
        if (cmd.json) return;
        if (o.ok) console.log(`ok    ${replayLine(o.result)}`);
        else console.log(`FAIL  ${o.seq}: ${o.error.message}`);
      });
      const failed = outcomes.filter((o) => !o.ok).length;
      if (cmd.json) console.log(JSON.stringify(outcomes.map(outcomeJson), null, 2));
      else if (outcomes.length === 0)
        console.log(cmd.consumer ? `no dead letters for consumer ${cmd.consumer}` : 'no dead letters');
      else
        console.log(
          `\n${outcomes.length - failed} replayed, ${failed} failed${failed ? ' (those dead letters are kept)' : ''}`,
        );
      return failed > 0 ? 1 : 0;
    }
    case 'discard': {
      const e = await discardDeadLetter(jsm, cmd.seq ?? 0);
      console.log(`discarded dead letter ${e.seq} (${e.consumer}, ${e.originalSubject}, event ${e.eventId ?? '?'})`);
      return 0;
    }
  }
}

let cmd: Command | 'help';
try {
  cmd = parseCommand(process.argv.slice(2));
} catch (err) {
  // parseArgs throws TypeErrors with a code for unknown options and missing values.
  if (!(err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))) throw err;
  console.error(`error: ${(err as Error).message}\n\n${USAGE}`);
  process.exit(EXIT_USAGE);
}
if (cmd === 'help') {
  console.log(USAGE);
} else {
  const config = loadConfigOrExit();
  let nc: NatsConnection | undefined;
  try {
    nc = await connectNats(config.nats, 'checkout-dlq-cli');
    // No declareStreams here: an operator's tool must not rewrite stream settings from whatever
    // environment it happens to run in. A missing stream shows up as "no dead letters".
    process.exitCode = await run(nc, cmd, config);
  } catch (err) {
    const where = nc ? '' : ` (NATS at ${config.nats.servers.join(',')})`;
    console.error(
      err instanceof DeadLetterNotFound
        ? err.message
        : `error${where}: ${err instanceof Error ? err.message : String(err)}`,
    );
    process.exitCode = 1;
  } finally {
    await nc?.drain();
  }
}
