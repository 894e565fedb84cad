import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { EVENT_TYPES } from '../../events/catalog';
import { parseEvent } from '../../events/envelope';
import { streamFor } from '../../events/streams';

const envelope = (over: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  id: randomUUID(),
  type: 'payments.payment.charged',
  source: '/checkout-saga/payments',
  subject: randomUUID(),
  time: new Date().toISOString(),
  datacontenttype: 'application/json',
  dataversion: 1,
  traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`,
  data: {
    orderId: randomUUID(),
    paymentId: 'ch_1',
    amountCents: 500,
    currency: 'USD',
    chargedAt: new Date().toISOString(),
  },
  ...over,
});

describe('event envelope and catalogue', () => {
  it('parses a valid CloudEvents envelope into the typed union', () => {
    const r = parseEvent(JSON.stringify(envelope()));
    assert.ok(r.ok);
    assert.equal(r.event.type, 'payments.payment.charged');
  });

  it('keeps unknown extra fields compatible (consumers tolerate additions)', () => {
    const e = envelope();
    const r = parseEvent(JSON.stringify({ ...e, data: { ...(e.data as object), newOptionalField: 1 } }));
    assert.ok(r.ok);
  });

  it('reports an unknown type or version separately from invalid data', () => {
    const unknown = parseEvent(JSON.stringify(envelope({ dataversion: 9 })));
    assert.ok(!unknown.ok && unknown.reason === 'unknown-type');
    const invalid = parseEvent(JSON.stringify(envelope({ data: { orderId: 'nope' } })));
    assert.ok(!invalid.ok && invalid.reason === 'invalid-data');
    const notJson = parseEvent('{');
    assert.ok(!notJson.ok && notJson.reason === 'invalid-envelope');
  });

  it('names every subject <service>.<entity>.<action> and maps it to its service stream', () => {
    for (const type of EVENT_TYPES) {
      assert.match(type, /^[a-z]+\.[a-z]+\.[a-z_]+$/);
      assert.equal(streamFor(type), type.split('.')[0]!.toUpperCase());
    }
  });
});
