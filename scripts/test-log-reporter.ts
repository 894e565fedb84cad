import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { spec, type TestEvent } from 'node:test/reporters';
import { repoRoot } from '../lib/config';

/** Where each test file's output goes (git-ignored); the runner empties it before a run. */
export const testLogDir = join(repoRoot, 'test-results', 'logs');

/** `<repo>/test/integration/relay.test.ts` -> `test-results/logs/integration/relay.test.log`. */
export function logPathOf(testFile: string): string {
  const below = relative(join(repoRoot, 'test'), testFile).replace(/\.ts$/, '');
  return join(testLogDir, `${below.startsWith('..') ? relative(repoRoot, testFile) : below}.log`);
}

/** Enough of a failing file's log to see what it did last, without burying the summary above it. */
const TAIL_LINES = 80;
const LINE_CHARS = 400;

function tailOf(path: string): string {
  if (!existsSync(path)) return '  (the file wrote no output)\n';
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
  const shown = lines
    .slice(-TAIL_LINES)
    .map((l) => (l.length > LINE_CHARS ? `${l.slice(0, LINE_CHARS)} …` : l))
    .map((l) => `  ${l}`);
  const skipped = lines.length - shown.length;
  return `${skipped > 0 ? `  … ${skipped} earlier lines\n` : ''}${shown.join('\n')}\n`;
}

/**
 * The spec reporter, minus the noise: whatever a test file (its loggers, the Temporal worker and
 * its bundler, the child processes it spawns with inherited stdio) writes to stdout or stderr goes
 * to that file's log under `test-results/logs/` instead of the terminal. The spec results are
 * printed as usual; after the summary, the tail of each failing file's log follows.
 *
 * @example
 * node --import tsx --test --test-reporter=./scripts/test-log-reporter.ts --test-reporter-destination=stdout …
 */
export default class TestLogReporter extends Transform {
  readonly #spec = new spec();
  readonly #failed = new Set<string>();
  #logged = false;

  constructor() {
    super({ writableObjectMode: true });
    this.#spec.on('data', (chunk: string | Buffer) => this.push(chunk));
  }

  override _transform(event: TestEvent, _encoding: BufferEncoding, done: TransformCallback): void {
    if (event.type === 'test:stdout' || event.type === 'test:stderr') {
      const path = logPathOf(event.data.file);
      mkdirSync(dirname(path), { recursive: true });
      appendFileSync(path, event.data.message);
      this.#logged = true;
      done();
      return;
    }
    if (event.type === 'test:fail' && event.data.file) this.#failed.add(event.data.file);
    this.#spec.write(event, () => done());
  }

  override _flush(done: TransformCallback): void {
    this.#spec.once('end', () => {
      if (this.#logged) this.push(`\nwhat the tests logged: ${relative(repoRoot, testLogDir)}/<file>.log\n`);
      for (const file of this.#failed) {
        const path = logPathOf(file);
        this.push(`\nlog of ${relative(repoRoot, file)} (full: ${relative(repoRoot, path)}):\n${tailOf(path)}`);
      }
      done();
    });
    this.#spec.end();
  }
}
