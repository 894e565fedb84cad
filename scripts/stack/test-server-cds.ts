import { spawn } from 'node:child_process';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * JVM flags for a short-lived test server: the client compiler only and the serial collector. The
 * SDK gives the server 5 s to accept connections (a fixed limit in its core); on a loaded 2-core
 * machine a default JVM took 1.9 s idle and over 5 s under `npm test`, cancelling whole workflow
 * test files. Measured here idle: 1.9 s default, 0.8 s with these flags, 0.3 s with the class
 * archive below as well.
 */
export const TEST_SERVER_JVM_FLAGS = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-XX:-UsePerfData'] as const;

const START_TIMEOUT_MS = 60_000;

async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP port from listen(0)');
  return address.port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Writes an application class-data-sharing archive (JDK 13+ `-XX:ArchiveClassesAtExit`) of the
 * classes the test server loads until it accepts connections, so later starts map them instead of
 * loading and verifying them. The JVM ignores an archive from another JDK build (it falls back to
 * loading classes), so a stale archive costs speed, never correctness.
 *
 * @returns true when the archive exists afterwards; false (and no archive) when the JVM could not
 *   write it, in which case the wrapper runs without it.
 */
export async function buildClassArchive(
  java: string,
  classpath: string,
  mainClass: string,
  archive: string,
): Promise<boolean> {
  const partial = `${archive}.${process.pid}.tmp`;
  rmSync(partial, { force: true });
  const port = await freeLoopbackPort();
  const child = spawn(
    java,
    [...TEST_SERVER_JVM_FLAGS, `-XX:ArchiveClassesAtExit=${partial}`, '-cp', classpath, mainClass, String(port)],
    { stdio: 'ignore' },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + START_TIMEOUT_MS;
  let started = false;
  while (!started && Date.now() < deadline && child.exitCode === null) {
    started = await accepts(port);
    if (!started) await sleep(100);
  }
  // SIGTERM runs the JVM's normal exit, which is where the archive is written.
  child.kill('SIGTERM');
  await exited;
  if (!started || !existsSync(partial)) {
    rmSync(partial, { force: true });
    return false;
  }
  renameSync(partial, archive);
  return true;
}
