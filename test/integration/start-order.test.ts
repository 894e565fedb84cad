import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { repoRoot } from '../../lib/config';
import { freePort } from '../support/ports';
import { testConfig, testDb } from '../support/services';

/** A child process whose JSON log lines are kept, with a way to wait for one. */
function watched(child: ChildProcess) {
  const lines: Record<string, unknown>[] = [];
  let buffer = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.startsWith('{')) lines.push(JSON.parse(line) as Record<string, unknown>);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    lines,
    exited,
    async waitFor(match: (l: Record<string, unknown>) => boolean, timeoutMs: number, what: string) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const found = lines.find(match);
        if (found) return found;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`timed out waiting for ${what}; lines: ${lines.map((l) => l.msg).join(' | ')}`);
    },
  };
}

describe('a process started before its dependencies waits for them instead of exiting (real nats-server)', () => {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('the relay waits for NATS, starts once it appears, and a SIGTERM while waiting exits 0', async () => {
    const config = testConfig();
    const db = await testDb(config);
    await db.end();
    const natsServer = join(config.stack.binDir, 'nats-server');
    assert.ok(existsSync(natsServer), `${natsServer} is missing: run \`npm run stack:up\` first`);
    const port = await freePort();
    const env = {
      ...process.env,
      DATABASE_URL: config.database.url,
      NATS_URL: `nats://127.0.0.1:${port}`,
      LOG_LEVEL: 'info',
    };
    const spawnRelay = () =>
      spawn(process.execPath, ['--import', 'tsx', 'workers/relay.ts'], {
        cwd: repoRoot,
        env,
        stdio: ['ignore', 'pipe', 'inherit'],
      });

    // First: nothing ever listens; a shutdown while waiting is a clean exit, not a failure.
    const waiting = spawnRelay();
    children.push(waiting);
    const w = watched(waiting);
    await w.waitFor(
      (l) => l.msg === 'NATS unreachable; waiting for it' && l.attempt === 2,
      20_000,
      'a second wait for NATS',
    );
    waiting.kill('SIGTERM');
    assert.equal(await w.exited, 0);
    assert.ok(w.lines.some((l) => l.msg === 'stopped while waiting for NATS'));
    assert.ok(!w.lines.some((l) => l.level === 60), 'no fatal line');

    // Then: the relay starts first, NATS a few seconds later; the relay carries on by itself.
    const relay = spawnRelay();
    children.push(relay);
    const r = watched(relay);
    await r.waitFor((l) => l.msg === 'NATS unreachable; waiting for it', 20_000, 'the relay to wait for NATS');
    const store = mkdtempSync(join(tmpdir(), 'start-order-nats-'));
    dirs.push(store);
    const nats = spawn(natsServer, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', store], { stdio: 'ignore' });
    children.push(nats);
    await r.waitFor((l) => l.msg === 'NATS reachable; continuing start-up', 20_000, 'the relay to connect');
    await r.waitFor((l) => l.msg === 'outbox relay joined', 20_000, 'the relay to join the outbox');
    relay.kill('SIGTERM');
    assert.equal(await r.exited, 0);
    nats.kill('SIGTERM');
  });
});
