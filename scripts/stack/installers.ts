import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findExecutable, findOnPath, indent, isRoot, runLogged, tailLines } from './commands';
import { StackError } from './errors';
import { displayPath, elapsed, stepLine } from './report';
import type { Say } from './types';

/**
 * Installs Debian packages when we are root on an apt system; otherwise throws a StackError
 * giving the exact command, because installing software is the user's call then.
 *
 * @param what human name of the missing thing, e.g. "PostgreSQL (initdb, pg_ctl)".
 */
export async function aptInstall(what: string, packages: readonly string[], logFile: string, say: Say): Promise<void> {
  const command = `apt-get update && apt-get install -y ${packages.join(' ')}`;
  const aptGet = await findOnPath('apt-get');
  if (!isRoot() || aptGet === undefined) {
    throw new StackError(
      `${what} is not installed`,
      aptGet ? `run: sudo sh -c '${command}'` : `install ${packages.join(', ')} with your package manager`,
    );
  }
  say(stepLine('apt-get', 'installing', `${packages.join(' ')} for ${what} (log ${displayPath(logFile)})`));
  for (const args of [['update'], ['install', '-y', ...packages]]) {
    // `env` sets DEBIAN_FRONTEND for the child only, so no debconf prompt can block us.
    const code = await runLogged('env', ['DEBIAN_FRONTEND=noninteractive', aptGet, ...args], logFile);
    if (code !== 0) {
      throw new StackError(
        `apt-get ${args[0]} failed (exit ${code}):\n${indent(tailLines(readFileSync(logFile, 'utf8'), 10))}`,
        `read ${logFile}, fix apt, then rerun`,
      );
    }
  }
}

/** A Go program the stack builds from source with `go install`. */
export interface GoTool {
  /** Binary name, e.g. `nats-server`. */
  binary: string;
  /** Name shown in progress lines when it differs from the binary (natscli builds `nats`). */
  label?: string;
  /** `module/path@version` as passed to `go install`. */
  target: string;
  /** Rough build time shown before starting, e.g. "about a minute". */
  expected: string;
  /**
   * Sub-folder of the bin dir to install into. Several modules build a binary named `server`
   * (Temporal, its UI server, toxiproxy): each gets its own folder so none overwrites another.
   */
  dir?: string;
}

/** Where `goInstall` puts `tool`'s binary under `binDir`. */
export function goToolPath(tool: GoTool, binDir: string): string {
  return join(binDir, tool.dir ?? '', tool.binary);
}

// How often to print a progress line while a build runs, so a long build never looks hung.
const PROGRESS_EVERY_MS = 30_000;

/**
 * Builds `tool` into `binDir` with `GOBIN=<binDir> go install <target>`, printing a line first and
 * a progress line every 30 s; all go output goes to `logFile`.
 *
 * @returns the path of the built binary.
 * @throws StackError when Go is missing (with what to install instead) or the build fails.
 */
export async function goInstall(tool: GoTool, binDir: string, logFile: string, say: Say): Promise<string> {
  const go = await findExecutable('go', ['/usr/local/go/bin/go']);
  if (go === undefined) {
    throw new StackError(
      `${tool.binary} is not installed and Go is not available to build it`,
      `install Go (https://go.dev/dl/) or put ${tool.binary} on PATH or in ${displayPath(binDir)}`,
    );
  }
  say(
    stepLine(
      tool.label ?? tool.binary,
      'building',
      `go install ${tool.target} (${tool.expected}; log ${displayPath(logFile)})`,
    ),
  );
  const started = Date.now();
  let downloads = 0;
  let packages = 0;
  const progress = setInterval(() => {
    say(
      stepLine(
        tool.label ?? tool.binary,
        'building',
        `${elapsed(started)} so far, ${downloads} modules downloaded, ${packages} packages compiled`,
      ),
    );
  }, PROGRESS_EVERY_MS);
  let code: number;
  try {
    // -v lists each compiled package, which is what the progress line counts.
    const gobin = join(binDir, tool.dir ?? '');
    mkdirSync(gobin, { recursive: true });
    code = await runLogged('env', [`GOBIN=${gobin}`, go, 'install', '-v', tool.target], logFile, (line) => {
      if (line.startsWith('go: downloading')) downloads += 1;
      else if (line.length > 0 && !line.startsWith('go:') && !line.startsWith('#')) packages += 1;
    });
  } finally {
    clearInterval(progress);
  }
  const binary = goToolPath(tool, binDir);
  if (code !== 0 || !existsSync(binary)) {
    throw new StackError(
      `go install ${tool.target} failed (exit ${code}):\n${indent(tailLines(readFileSync(logFile, 'utf8'), 12))}`,
      `read ${logFile}; a network error to proxy.golang.org is the usual cause, rerun when it is reachable`,
    );
  }
  say(stepLine(tool.label ?? tool.binary, 'built', `in ${elapsed(started)}: ${displayPath(binary)}`));
  return binary;
}
