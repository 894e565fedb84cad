import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ENV_VARIABLES, loadConfig, repoRoot } from '../../lib/config';

/** `.env.example`'s variables: those it sets (`NAME=value`) and those it lists unset (`# NAME=`). */
function readExample(): { set: Record<string, string>; unset: string[] } {
  const set: Record<string, string> = {};
  const unset: string[] = [];
  for (const line of readFileSync(join(repoRoot, '.env.example'), 'utf8').split('\n')) {
    const active = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (active) set[active[1] as string] = active[2] as string;
    const commented = /^# ([A-Z][A-Z0-9_]*)=$/.exec(line);
    if (commented) unset.push(commented[1] as string);
  }
  return { set, unset };
}

describe('.env.example', () => {
  const { set, unset } = readExample();

  it('lists every variable lib/config.ts reads, each once, and no other', () => {
    const listed = [...Object.keys(set), ...unset];
    assert.equal(new Set(listed).size, listed.length, 'a variable listed twice');
    assert.deepEqual([...listed].sort(), [...ENV_VARIABLES].sort());
  });

  it('gives each variable it sets its real default', () => {
    // Loading the example's values must give exactly the configuration of an empty environment.
    assert.deepEqual(loadConfig(set), loadConfig({}));
  });

  it('would change the configuration if a listed default were wrong', () => {
    assert.notDeepEqual(loadConfig({ ...set, RELAY_BATCH_SIZE: '201' }), loadConfig({}));
  });
});
