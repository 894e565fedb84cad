import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { repoRoot } from '../lib/config';
import { checkCompatible } from './contracts/compatibility';
import { sampleEnvelope } from './contracts/fixtures';
import { contractFiles, fixtureFile, JSON_SCHEMA_DIR } from './contracts/files';
import { renderJson, type JsonValue } from './contracts/json';
import { catalogVersions } from './contracts/json-schema';

/**
 * `npm run events:generate`: writes the per-version JSON Schemas, the AsyncAPI document and the
 * types table of docs/events.md from the event catalogue, and a sample envelope for a new version
 * from its schema's example. A published schema is only ever overwritten by a compatible revision.
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
// A sample is written once, for a version that has none, from its schema's example; a committed
// sample is a published fixture and never rewritten.
const samples = catalogVersions().flatMap(({ type, version, data }) => {
  const path = fixtureFile(type, version);
  if (read(path) !== undefined) return [];
  const envelope = sampleEnvelope(type, version, data);
  return [{ path, text: envelope ? renderJson(envelope) : undefined }];
});
const missingFixtures = samples.filter((s) => check || s.text === undefined).map((s) => s.path);

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
    `No sample envelope yet (add one, it is the published-version fixture):\n${missingFixtures.map((p) => `  - ${p}`).join('\n')}` +
      (check ? '' : '\nGive the schema an example (`.meta({ examples: [{ ... }] })`) and the generator writes it.'),
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
  const writes = [
    ...files.filter((f) => stale.includes(f.path)),
    ...samples.flatMap((s) => (s.text === undefined ? [] : [{ path: s.path, text: s.text }])),
  ];
  for (const { path, text } of writes) {
    const abs = join(repoRoot, path);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, text);
  }
  console.log(`event contracts: ${writes.length} written, ${files.length - stale.length} unchanged`);
}
process.exit(failed ? 1 : 0);
