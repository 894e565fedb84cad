import { join } from 'node:path';
import type { Config } from '../../lib/config';
import { findExecutable, isExecutable, run } from './commands';
import type { StackContext } from './context';
import { StackError } from './errors';
import { aptInstall } from './installers';
import { displayPath } from './report';
import type { ComponentReport } from './types';

// Debian's `chromium` package puts its launcher here; checked before PATH so a stray `chromium`
// earlier on PATH (a snap shim, say) does not win over the package we install.
const DEBIAN_CHROMIUM = '/usr/bin/chromium';

/**
 * The Chromium executable the browser tests drive: CHROMIUM_PATH when set, else Debian's
 * /usr/bin/chromium, else `chromium` on PATH.
 *
 * @example
 * const executablePath = await findChromium(loadConfig());
 * if (executablePath === undefined) throw new Error('run `npm run stack:up -- --browser`');
 * @returns the absolute path, or undefined when none is installed.
 * @throws StackError when CHROMIUM_PATH is set but not executable (a typo must not fall back silently).
 */
export async function findChromium(config: Config): Promise<string | undefined> {
  const configured = config.browser.chromiumPath;
  if (configured !== undefined) {
    if (!isExecutable(configured))
      throw new StackError(`CHROMIUM_PATH=${configured} is not an executable file`, 'fix or unset CHROMIUM_PATH');
    return configured;
  }
  return findExecutable('chromium', [DEBIAN_CHROMIUM]);
}

/**
 * `chromium --version`, e.g. `Chromium 139.0.7258.154 built on Debian GNU/Linux 12 (bookworm)`.
 *
 * @example
 * say(`using ${await chromiumVersion('/usr/bin/chromium')}`);
 * @throws StackError when the binary cannot run (missing shared libraries, wrong architecture).
 */
export async function chromiumVersion(executable: string): Promise<string> {
  const result = await run(executable, ['--version']);
  const version = result.stdout.trim().split('\n')[0] ?? '';
  if (result.code !== 0 || version === '') {
    throw new StackError(
      `${executable} --version failed (exit ${result.code}): ${result.stderr.trim().split('\n').slice(-3).join(' ')}`,
      'reinstall it: apt-get install --reinstall chromium',
    );
  }
  return version;
}

/**
 * Makes sure a Chromium for the browser tests exists: installs Debian's `chromium` package with
 * apt-get when none is found (idempotent: an existing one is used as is), then reports its path
 * and version.
 *
 * @example
 * ctx.say(formatReport(await ensureChromium(ctx)));
 * // chromium    ready       /usr/bin/chromium  (Chromium 139.0.7258.154 built on Debian GNU/Linux 12 (bookworm))
 * @throws StackError when it is missing and cannot be installed (not root, no apt), or does not run.
 */
export async function ensureChromium(ctx: StackContext): Promise<ComponentReport> {
  let path = await findChromium(ctx.config);
  if (path === undefined) {
    await aptInstall('the Web UI test browser (Chromium)', ['chromium'], join(ctx.layout.logsDir, 'apt.log'), ctx.say);
    path = await findChromium(ctx.config);
    if (path === undefined)
      throw new StackError(
        `chromium is still missing after apt-get install chromium`,
        `put chromium on PATH or set CHROMIUM_PATH`,
      );
  }
  return { name: 'chromium', state: 'ready', address: displayPath(path), details: [await chromiumVersion(path)] };
}
