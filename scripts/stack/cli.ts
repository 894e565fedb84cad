/**
 * `tsx scripts/stack/cli.ts <up|down|status> [--test-server] [--natscli] [--browser] [--tools a,b] [--python] [--only postgres,nats,temporal]`
 * `tsx scripts/stack/cli.ts <up|down|status|failover> --ha [--browser] [--no-rebuild]` (the production-shaped stack)
 *
 * Exit codes: 0 ok, 1 a component failed (message says what and how to fix), 2 bad usage.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../../lib/config';
import { haConfig, haFailover, haStackDown, haStackStatus, haStackUp } from './ha/index';
import {
  componentNames,
  goToolNames,
  describeError,
  stackDown,
  stackStatus,
  stackUp,
  type StackOptions,
} from './index';

const USAGE = `usage: tsx scripts/stack/cli.ts <up|down|status> [--only ${componentNames.join(',')}] [--test-server] [--natscli] [--browser] [--tools LIST] [--python]
       tsx scripts/stack/cli.ts <up|down|status|failover> --ha [--browser] [--no-rebuild]
  up             start what is not reachable yet (idempotent)
  down           stop what \`up\` started; external servers and data are kept
  status         one line per component
  --only LIST    restrict to these components
  --test-server  (up) also prepare the Temporal time-skipping test server
  --natscli      (up) also build the nats CLI used by benchmarks
  --browser      (up) also install Debian's chromium for the Web UI browser test
  --tools LIST   (up) also build these pinned Go tools into the cache: ${goToolNames.join(', ')}
  --python       (up) also install the pinned Python tools (scripts/python/requirements.txt)
  --ha           the production-shaped stack in STACK_DIR/ha instead: PostgreSQL primary + synchronous
                 standby behind one address, three NATS nodes (R3 streams), Temporal server on
                 PostgreSQL and its Web UI (up --ha --browser also installs Chromium)
  failover --ha  promote the PostgreSQL standby, fence the old primary, repoint the stable address,
                 and build a new standby from the new primary (--no-rebuild: leave it without one)`;

class UsageError extends Error {
  override name = 'UsageError';
}

type Command = 'up' | 'down' | 'status' | 'failover';

interface Parsed {
  command: Command;
  options: StackOptions;
  /** `--ha`: the production-shaped stack; `rebuild` is false for `failover --no-rebuild`. */
  ha?: { rebuild: boolean };
}

function parse(argv: string[]): Parsed {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        only: { type: 'string' },
        'test-server': { type: 'boolean' },
        natscli: { type: 'boolean' },
        browser: { type: 'boolean' },
        tools: { type: 'string' },
        python: { type: 'boolean' },
        ha: { type: 'boolean' },
        'no-rebuild': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const [command, ...extra] = positionals;
  if (command !== 'up' && command !== 'down' && command !== 'status' && command !== 'failover')
    throw new UsageError(command ? `unknown command: ${command}` : 'missing command');
  if (command === 'failover' && !values.ha) throw new UsageError('failover only applies to the HA stack: add --ha');
  if (values['no-rebuild'] && command !== 'failover') throw new UsageError('--no-rebuild only applies to failover');
  if (
    values.ha &&
    (values['test-server'] ||
      values.natscli ||
      values.python ||
      values.tools !== undefined ||
      values.only !== undefined)
  )
    throw new UsageError('--ha takes only --browser (up) and --no-rebuild (failover)');
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  if (
    command !== 'up' &&
    (values['test-server'] || values.natscli || values.browser || values.python || values.tools !== undefined)
  )
    throw new UsageError('--test-server, --natscli, --browser, --tools and --python only apply to up');
  const options: StackOptions = {
    testServer: values['test-server'] ?? false,
    natscli: values.natscli ?? false,
    browser: values.browser ?? false,
    python: values.python ?? false,
  };
  if (values.tools !== undefined) options.tools = parseList(values.tools, goToolNames, '--tools');
  if (values.only !== undefined) options.only = parseList(values.only, componentNames, '--only');
  return { command, options, ...(values.ha ? { ha: { rebuild: !values['no-rebuild'] } } : {}) };
}

/** A comma-separated list of names from `allowed`; anything else is a usage error naming the flag. */
function parseList<T extends string>(raw: string, allowed: readonly T[], flag: string): T[] {
  const names = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const known = names.filter((n): n is T => (allowed as readonly string[]).includes(n));
  if (known.length !== names.length || names.length === 0)
    throw new UsageError(`${flag} takes a comma-separated list of ${allowed.join(', ')}; got ${raw}`);
  return known;
}

/** Runs a command on the HA stack, pointed at it from the base configuration. */
async function runHa(command: Command, base: Config, options: StackOptions, rebuild: boolean): Promise<void> {
  const config = haConfig(base);
  if (command === 'failover') await haFailover(config, { rebuild });
  else await { up: haStackUp, down: haStackDown, status: haStackStatus }[command](config, { browser: options.browser });
}

async function main(argv: string[]): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`${err.message}\n${USAGE}`);
    return 2;
  }
  const { command, options, ha } = parsed;
  try {
    const config = loadConfig();
    if (ha) await runHa(command, config, options, ha.rebuild);
    else if (command !== 'failover')
      await { up: stackUp, down: stackDown, status: stackStatus }[command](config, options);
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) console.error(err.message);
    else console.error(`stack ${command} failed: ${describeError(err)}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
