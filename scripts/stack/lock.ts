import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StackError } from './errors';
import { isProcessAlive } from './processes';
import { stepLine } from './report';
import type { Say } from './types';
import { waitFor } from './wait';

// Builds can take minutes, so a second `up` (e.g. test setup racing `npm start`) waits that long.
const LOCK_WAIT_MS = 20 * 60_000;

// Serialises calls inside one process; the lock file serialises separate processes.
let inProcess: Promise<unknown> = Promise.resolve();

/**
 * Runs `fn` while holding `<runDir>/stack.lock`, so two `up`/`down` runs never start the same
 * server twice. A lock left by a dead process is taken over.
 */
export function withStackLock<T>(runDir: string, say: Say, fn: () => Promise<T>): Promise<T> {
  const next = inProcess.then(
    () => withFileLock(join(runDir, 'stack.lock'), say, fn),
    () => withFileLock(join(runDir, 'stack.lock'), say, fn),
  );
  inProcess = next.catch(() => undefined); // a failed run must not block the next one; its caller sees the error
  return next;
}

async function withFileLock<T>(lockFile: string, say: Say, fn: () => Promise<T>): Promise<T> {
  let announced = false;
  await waitFor(
    'the stack lock',
    LOCK_WAIT_MS,
    async () => {
      if (tryAcquire(lockFile)) return { done: true, value: undefined };
      const holder = lockHolder(lockFile);
      if (holder === undefined || !isProcessAlive(holder)) {
        // Stale lock from a crashed run: remove it and try again on the next probe.
        rmSync(lockFile, { force: true });
        return { done: false, reason: 'removed a stale lock' };
      }
      if (!announced) {
        say(stepLine('stack', 'waiting', `for another stack command (pid ${holder}) to finish`));
        announced = true;
      }
      return { done: false, reason: `pid ${holder} holds ${lockFile}` };
    },
    { intervalMs: 500, fix: `if no stack command is running, delete ${lockFile}` },
  );
  try {
    return await fn();
  } finally {
    rmSync(lockFile, { force: true });
  }
}

function tryAcquire(lockFile: string): boolean {
  // Write the pid to a private file, then hard-link it into place: link() fails if the lock
  // exists, and a reader never sees a lock file without its pid.
  const mine = `${lockFile}.${process.pid}`;
  try {
    writeFileSync(mine, `${process.pid}\n`);
    linkSync(mine, lockFile);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new StackError(`cannot create ${lockFile}`, 'check that STACK_DIR is writable', { cause: err });
  } finally {
    rmSync(mine, { force: true });
  }
}

function lockHolder(lockFile: string): number | undefined {
  try {
    const pid = Number(readFileSync(lockFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch (err) {
    // The holder released it between our open and this read.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
