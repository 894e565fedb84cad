import { homedir } from 'node:os';
import { relative, sep } from 'node:path';
import type { ComponentReport } from './types';

/**
 * Shortens a path for display: relative to the working directory when inside it,
 * `~/...` when under the home directory, absolute otherwise.
 */
export function displayPath(path: string): string {
  const fromCwd = relative(process.cwd(), path);
  if (fromCwd === '') return '.';
  if (!fromCwd.startsWith('..') && !fromCwd.startsWith(sep)) return fromCwd;
  const home = homedir();
  if (path === home || path.startsWith(home + sep)) return `~${path.slice(home.length)}`;
  return path;
}

/** The URL with any password replaced by `***`, safe to print. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    // Not a URL we can parse: print nothing of it rather than risk leaking a secret.
    return '(unparseable URL)';
  }
}

/** One aligned progress line: `name verb text`, columns matching `formatReport`. */
export function stepLine(name: string, verb: string, text: string): string {
  return `${name.padEnd(11)} ${verb.padEnd(11)} ${text}`;
}

/** One aligned status line, e.g. `postgres    started      127.0.0.1:55432  (pid 42, data .stack/postgres/data)`. */
export function formatReport(report: ComponentReport): string {
  const facts = [...(report.pid === undefined ? [] : [`pid ${report.pid}`]), ...(report.details ?? [])];
  const line = stepLine(report.name, report.state, report.address);
  return facts.length > 0 ? `${line}  (${facts.join(', ')})` : line;
}

/** `1m05s`-style elapsed time since `since`. */
export function elapsed(since: number): string {
  const seconds = Math.round((Date.now() - since) / 1000);
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}
