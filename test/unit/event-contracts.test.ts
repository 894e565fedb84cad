import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import { z } from 'zod';
import { EVENT_TYPES } from '../../events/catalog';
import { checkCompatible } from '../../scripts/contracts/compatibility';
import {
  ASYNCAPI_PATH,
  contractFiles,
  FIXTURE_DIR,
  fixtureFile,
  JSON_SCHEMA_DIR,
  schemaFile,
} from '../../scripts/contracts/files';
import type { JsonValue } from '../../scripts/contracts/json';
import { catalogVersions, eventContracts, eventJsonSchema } from '../../scripts/contracts/json-schema';
import { parseEvent } from '../../events/envelope';
import { orderFailedV1, orderPlacedV1 } from '../../events/schemas/checkout';
import { address } from '../../events/schemas/common';
import { paymentChargedV1 } from '../../events/schemas/payments';
import { repoRoot } from '../../lib/config';
import { loadJsonSchemaValidator } from '../support/json-schema-validator';

const readRepoFile = (path: string): string => readFileSync(join(repoRoot, path), 'utf8');
const readJson = (path: string): JsonValue => JSON.parse(readRepoFile(path)) as JsonValue;
const listDir = (dir: string): string[] => readdirSync(join(repoRoot, dir)).sort();

describe('event contracts: committed artefacts', () => {
  it('match what the catalogue generates now', () => {
    const stale = contractFiles().filter((f) => {
      try {
        return readRepoFile(f.path) !== f.text;
      } catch {
        return true;
      }
    });
    assert.deepEqual(
      stale.map((f) => f.path),
      [],
      'committed event contracts are out of date: run `npm run events:generate` and commit the result',
    );
  });

  it('have a JSON Schema and a fixture for every catalogue type and version, and nothing else', () => {
    const versions = catalogVersions();
    const fileName = (path: string) => path.slice(path.lastIndexOf('/') + 1);
    assert.deepEqual(listDir(JSON_SCHEMA_DIR), versions.map((v) => fileName(schemaFile(v.type, v.version))).sort());
    assert.deepEqual(listDir(FIXTURE_DIR), versions.map((v) => fileName(fixtureFile(v.type, v.version))).sort());
  });

  it('keep every committed schema compatible with what the catalogue generates now', () => {
    for (const { type, version, schema } of eventContracts()) {
      const path = schemaFile(type, version);
      assert.deepEqual(
        checkCompatible(readJson(path), schema),
        [],
        `${path} changed incompatibly: add a new dataversion instead`,
      );
    }
  });

  it('leave objects open, so consumers accept events with added optional fields', () => {
    const validate = loadJsonSchemaValidator();
    for (const { type, version } of catalogVersions()) {
      const path = schemaFile(type, version);
      assert.doesNotMatch(readRepoFile(path), /"additionalProperties":\s*false/, path);
      const event = JSON.parse(readRepoFile(fixtureFile(type, version))) as { data: Record<string, unknown> };
      const extended = { ...event, comexampleextension: 'x', data: { ...event.data, addedLater: { nested: true } } };
      assert.deepEqual(validate(JSON.stringify(extended)), [], `${path} rejects an added optional field`);
    }
  });
});

describe('event contracts: AsyncAPI document', () => {
  it('parses with @asyncapi/parser without error diagnostics and lists every subject', async () => {
    const { document, diagnostics } = await new Parser().parse(readRepoFile(ASYNCAPI_PATH));
    const errors = diagnostics
      .filter((d) => d.severity === DiagnosticSeverity.Error)
      .map((d) => `${d.path.join('/')}: ${d.message}`);
    assert.deepEqual(errors, []);
    assert.ok(document, 'no document parsed');
    const addresses = document
      .channels()
      .all()
      .map((c) => c.address());
    for (const type of EVENT_TYPES) assert.ok(addresses.includes(type), `no channel for ${type}`);
    assert.ok(addresses.includes('dlq.{consumer}.{subject}'), 'no dead-letter channel');
    assert.equal(
      document
        .operations()
        .all()
        .filter((o) => o.action() === 'receive').length,
      EVENT_TYPES.length + 1,
    );
  });
});

describe('event contracts: published-version fixtures', () => {
  const validate = loadJsonSchemaValidator();
  for (const { type, version } of catalogVersions()) {
    const path = fixtureFile(type, version);
    it(`${path} parses with the zod catalogue and validates against its JSON Schema`, () => {
      const body = readRepoFile(path);
      const parsed = parseEvent(body);
      assert.ok(parsed.ok, parsed.ok ? '' : `${parsed.reason}: ${parsed.message}`);
      assert.equal(parsed.event.type, type);
      assert.equal(parsed.event.dataversion, version);
      assert.deepEqual(validate(body), []);
    });
  }

  it('are rejected by the JSON Schemas when invalid, and unknown versions are errors', () => {
    const body = JSON.parse(readRepoFile(fixtureFile('payments.payment.charged', 1))) as {
      data: Record<string, unknown>;
    };
    const broken = { ...body, data: { ...body.data, amountCents: '20.00' } };
    assert.match(validate(JSON.stringify(broken)).join('\n'), /\/data\/amountCents: must be integer/);
    assert.match(
      validate(JSON.stringify({ ...body, dataversion: 99 })).join('\n'),
      /unknown event payments\.payment\.charged v99/,
    );
  });
});

describe('checkCompatible', () => {
  const charged = eventJsonSchema('payments.payment.charged', 1, paymentChargedV1);
  const chargedAs = (data: z.ZodType) => eventJsonSchema('payments.payment.charged', 1, data);

  it('accepts an unchanged schema and an added optional property, also nested', () => {
    assert.deepEqual(checkCompatible(charged, charged), []);
    assert.deepEqual(checkCompatible(charged, chargedAs(paymentChargedV1.extend({ note: z.string().optional() }))), []);
    const placed = eventJsonSchema('checkout.order.placed', 1, orderPlacedV1);
    const withFloor = orderPlacedV1.extend({ shippingAddress: address.extend({ floor: z.string().optional() }) });
    assert.deepEqual(checkCompatible(placed, eventJsonSchema('checkout.order.placed', 1, withFloor)), []);
  });

  it('accepts reworded descriptions', () => {
    const described = paymentChargedV1.extend({ paymentId: z.string().describe('Provider charge id.') });
    assert.deepEqual(checkCompatible(charged, chargedAs(described)), []);
  });

  it('rejects an added required property', () => {
    const violations = checkCompatible(charged, chargedAs(paymentChargedV1.extend({ note: z.string() })));
    assert.deepEqual(violations, ['$.data.note: new property is required (a new property must be optional)']);
  });

  it('rejects a removed property', () => {
    assert.deepEqual(checkCompatible(charged, chargedAs(paymentChargedV1.omit({ paymentId: true }))), [
      '$.data.paymentId: property removed',
    ]);
  });

  it('rejects a changed type', () => {
    assert.deepEqual(checkCompatible(charged, chargedAs(paymentChargedV1.extend({ amountCents: z.string() }))), [
      '$.data.amountCents: type changed from "integer" to "string"',
    ]);
  });

  it('rejects optional made required, required made optional, and nested changes', () => {
    const placed = eventJsonSchema('checkout.order.placed', 1, orderPlacedV1);
    const line2Required = orderPlacedV1.extend({ shippingAddress: address.extend({ line2: z.string() }) });
    assert.deepEqual(checkCompatible(placed, eventJsonSchema('checkout.order.placed', 1, line2Required)), [
      '$.data.shippingAddress.line2: optional property became required (published events may lack it)',
    ]);
    const optionalPayment = paymentChargedV1.extend({ paymentId: z.string().optional() });
    assert.deepEqual(checkCompatible(charged, chargedAs(optionalPayment)), [
      '$.data.paymentId: required property became optional (consumers rely on it being present)',
    ]);
  });

  it('rejects a changed enum, format or const, and narrowed constraints', () => {
    const failed = eventJsonSchema('checkout.order.failed', 1, orderFailedV1);
    const moreReasons = orderFailedV1.extend({
      failureReason: z.enum([
        'OUT_OF_STOCK',
        'PAYMENT_DECLINED',
        'PAYMENT_CONFIRMATION_TIMEOUT',
        'SHIPPING_UNAVAILABLE',
        'FRAUD',
      ]),
    });
    assert.match(
      checkCompatible(failed, eventJsonSchema('checkout.order.failed', 1, moreReasons)).join('\n'),
      /\$\.data\.failureReason: enum changed/,
    );

    const notUuid = paymentChargedV1.extend({ orderId: z.string() });
    assert.match(checkCompatible(charged, chargedAs(notUuid)).join('\n'), /\$\.data\.orderId: format "uuid" removed/);

    const positive = paymentChargedV1.extend({ amountCents: z.number().int().min(1) });
    assert.deepEqual(checkCompatible(charged, chargedAs(positive)), [
      '$.data.amountCents: minimum narrowed from 0 to 1',
    ]);

    const v2 = eventJsonSchema('payments.payment.charged', 2, paymentChargedV1);
    assert.match(checkCompatible(charged, v2).join('\n'), /\$\.dataversion: const changed from 1 to 2/);
  });
});
