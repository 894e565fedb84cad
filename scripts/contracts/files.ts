import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../lib/config';
import { asyncApiDocument } from './asyncapi';
import { EVENTS_DOC_PATH, withEventTypesTable } from './docs-table';
import { renderJson, renderYaml } from './json';
import { eventContracts, type EventContract } from './json-schema';

// Build-time only: where the generated contracts live and what each file contains. The runtime
// package (`events/`) ships these files; it never imports this folder.

export const ASYNCAPI_PATH = 'events/asyncapi.yaml';
export const JSON_SCHEMA_DIR = 'events/json-schema';
export const FIXTURE_DIR = 'events/fixtures';

/** A file the generator writes, relative to the repository root. */
export interface ContractFile {
  path: string;
  text: string;
  /** Set for per-version JSON Schemas, which must stay compatible with what is on disk. */
  contract?: EventContract;
}

/**
 * Repository-relative path of the JSON Schema of one type and version.
 *
 * @example
 * schemaFile('payments.payment.charged', 1); // 'events/json-schema/payments.payment.charged.v1.json'
 */
export function schemaFile(type: string, version: number): string {
  return `${JSON_SCHEMA_DIR}/${type}.v${version}.json`;
}

/**
 * Repository-relative path of the sample envelope of one type and version.
 *
 * @example
 * fixtureFile('payments.payment.charged', 1); // 'events/fixtures/payments.payment.charged.v1.json'
 */
export function fixtureFile(type: string, version: number): string {
  return `${FIXTURE_DIR}/${type}.v${version}.json`;
}

/**
 * Every generated artefact with its exact file content: the per-version JSON Schemas, the
 * AsyncAPI document, and the types table of docs/events.md. Tests compare these with the
 * committed files. (Sample envelopes are written once, when missing: see `sampleEnvelope`.)
 *
 * @example
 * for (const f of contractFiles()) writeFileSync(join(repoRoot, f.path), f.text);
 */
export function contractFiles(): ContractFile[] {
  const contracts = eventContracts();
  const doc = readFileSync(join(repoRoot, EVENTS_DOC_PATH), 'utf8');
  return [
    ...contracts.map((contract) => ({
      path: schemaFile(contract.type, contract.version),
      text: renderJson(contract.schema),
      contract,
    })),
    { path: ASYNCAPI_PATH, text: renderYaml(asyncApiDocument(contracts)) },
    { path: EVENTS_DOC_PATH, text: withEventTypesTable(doc, contracts, { schemaFile, fixtureFile }) },
  ];
}
