import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { repoRoot } from '../lib/config';
import { checkCompatible, contractFiles, fixtureFile, JSON_SCHEMA_DIR, type JsonValue } from '../events/contracts';

/**
 * `npm run events:generate`: writes the per-version JSON Schemas and the AsyncAPI document from
 * the event catalogue. A published schema is only ever overwritten by a compatible revision.
 * `npm run events:generate -- --check` writes nothing and fails if a committed file is stale.
 */
const check = process.argv.includes('--check');
const files = contractFiles();

const read = (path: string): string | undefined => {
  const abs = join(repoRoot, path);
  return existsSync(abs) ? readFileSync(abs, 'utf8') : undefined;
};

const incompatible: string[] = [];
for (const { path, contract } of files) {
  const committed = read(path);
  if (!contract || committed === undefined) continue;
  let old: JsonValue;
  try {
    old = JSON.parse(committed) as JsonValue;
  } catch (err) {
    incompatible.push(`${path}: not valid JSON (${(err as Error).message}); restore it from git`);
    continue;
  }
  for (const v of checkCompatible(old, contract.schema)) incompatible.push(`${path}: ${v}`);
}

// A schema file without a catalogue entry means a published version vanished from the code.
const generated = new Set(files.map((f) => f.path));
const schemaDir = join(repoRoot, JSON_SCHEMA_DIR);
const orphans = existsSync(schemaDir)
  ? readdirSync(schemaDir)
      .map((name) => `${JSON_SCHEMA_DIR}/${name}`)
      .filter((p) => !generated.has(p))
  : [];

const stale = files.filter((f) => read(f.path) !== f.text).map((f) => f.path);
const missingFixtures = files.flatMap(({ contract }) => {
  if (!contract) return [];
  const path = fixtureFile(contract.type, contract.version);
  return read(path) === undefined ? [path] : [];
});

let failed = false;
if (incompatible.length > 0) {
  failed = true;
  console.error(
    'Refusing to overwrite published event schemas: the catalogue changed them incompatibly.\n' +
      incompatible.map((v) => `  - ${v}`).join('\n') +
      '\nWithin a dataversion you may only add optional properties. For anything else, add a new ' +
      'dataversion to events/catalog.ts (published beside the old one) and keep the old schema as it is.',
  );
}
if (orphans.length > 0) {
  failed = true;
  console.error(
    `Schema files with no catalogue entry:\n${orphans.map((p) => `  - ${p}`).join('\n')}\n` +
      'A published version stays in events/catalog.ts until its deprecation period ends; ' +
      'delete the file (and its fixture) only when retiring it on purpose.',
  );
}
if (missingFixtures.length > 0) {
  // A warning, not a failure: the unit tests fail on it, with the same list.
  console.warn(
    `No sample envelope yet (add one, it is the published-version fixture):\n${missingFixtures.map((p) => `  - ${p}`).join('\n')}`,
  );
}

if (check) {
  if (stale.length > 0) {
    failed = true;
    console.error(
      `Event contracts are out of date:\n${stale.map((p) => `  - ${p}`).join('\n')}\nRun \`npm run events:generate\` and commit the result.`,
    );
  } else if (!failed) {
    console.log(`event contracts up to date (${files.length} files)`);
  }
} else if (!failed) {
  for (const { path, text } of files) {
    if (!stale.includes(path)) continue;
    const abs = join(repoRoot, path);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, text);
  }
  console.log(`event contracts: ${stale.length} written, ${files.length - stale.length} unchanged`);
}
process.exit(failed ? 1 : 0);
