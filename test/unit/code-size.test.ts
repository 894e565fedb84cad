import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../../lib/config';
import { PRODUCT_DIRS, TOOL_DIRS, tsFiles } from '../../scripts/code-size';

describe('scripts/code-size.ts', () => {
  it('limits every top-level folder of TypeScript that is not a tool', () => {
    const withCode = readdirSync(repoRoot, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules')
      .map((e) => e.name)
      .filter((name) => tsFiles(join(repoRoot, name)).length > 0);
    assert.deepEqual(
      withCode.filter((name) => !TOOL_DIRS.includes(name)).sort(),
      [...PRODUCT_DIRS].sort(),
      'a new product folder goes into PRODUCT_DIRS',
    );
  });
});
