import { join } from 'node:path';
import { repoRoot } from '../../lib/config';

/** Where replay fixtures live; replay.test.ts replays every file here. */
export const HISTORIES_DIR = join(repoRoot, 'test', 'workflow', 'histories');
