import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import type { AuthEnv } from '../../api/auth';
import { guarded, unguardedRoutes } from '../../api/authorization';
import {
  authorize,
  grantedScopes,
  isCustomer,
  mayActFor,
  mayConfirmAnyPayment,
  OPERATIONS,
  rateLimitClass,
} from '../../auth/policy';
import { SCOPES, type Principal, type Scope } from '../../auth/principal';

const oidc = (sub: string, scopes: Scope[]): Principal => ({
  kind: 'oidc',
  id: `oidc:${sub}`,
  subject: sub,
  scopes: new Set(scopes),
});
const service = (scopes: readonly Scope[] = SCOPES): Principal => ({
  kind: 'service',
  id: '0123456789abcdef',
  subject: undefined,
  scopes: new Set(scopes),
});

describe('the authorization policy', () => {
  it('never grants payments:confirm to a customer, whatever its token claims', () => {
    assert.deepEqual([...grantedScopes(['checkout:read', 'payments:confirm'])], ['checkout:read']);
  });

  it('keeps payments:confirm for a client acting for any customer (a trusted backend)', () => {
    assert.deepEqual(
      [...grantedScopes(['checkout:any', 'payments:confirm'])].sort(),
      ['checkout:any', 'payments:confirm'].sort(),
    );
  });

  it('drops scopes it does not know (openid, profile, typos)', () => {
    assert.deepEqual([...grantedScopes(['openid', 'profile', 'checkout:reed', 'checkout:write'])], ['checkout:write']);
  });

  it('names the missing scope of an operation, and none for the catalogue read', () => {
    assert.equal(authorize(oidc('a', ['checkout:read']), 'placeCheckout'), 'checkout:write');
    assert.equal(authorize(oidc('a', ['checkout:write']), 'placeCheckout'), undefined);
    assert.equal(authorize(oidc('a', []), 'getInventoryItem'), undefined);
    assert.equal(authorize(service(['inventory:write']), 'confirmPayment'), 'payments:confirm');
  });

  it('lets a customer act for itself only, and checkout:any for anyone', () => {
    assert.equal(mayActFor(oidc('a', ['checkout:write']), 'a'), true);
    assert.equal(mayActFor(oidc('a', ['checkout:write']), 'b'), false);
    assert.equal(mayActFor(oidc('backend', ['checkout:any']), 'b'), true);
    assert.equal(mayActFor(service(), 'b'), true);
    assert.equal(mayActFor(service(['checkout:read']), 'b'), false);
  });

  it('lets a holder of payments:confirm confirm any order, without being anyone’s customer', () => {
    const confirmer = service(['payments:confirm']);
    assert.equal(mayConfirmAnyPayment(confirmer), true);
    assert.equal(mayActFor(confirmer, 'cust-a'), false);
    assert.equal(mayConfirmAnyPayment(oidc('a', [...grantedScopes(['checkout:write', 'payments:confirm'])])), false);
  });

  it('counts customers and everyone else against different write quotas', () => {
    assert.equal(isCustomer(oidc('a', ['checkout:write'])), true);
    assert.equal(rateLimitClass(oidc('a', ['checkout:write'])), 'customer');
    assert.equal(rateLimitClass(oidc('backend', ['checkout:any'])), 'service');
    assert.equal(rateLimitClass(service()), 'service');
  });

  it('marks exactly the state-changing operations as writes', () => {
    const writes = Object.entries(OPERATIONS)
      .filter(([, p]) => p.writes)
      .map(([op]) => op)
      .sort();
    assert.deepEqual(writes, ['cancelCheckout', 'confirmPayment', 'placeCheckout', 'putInventoryItem']);
  });

  it('finds an authenticated route that has no policy, so the app refuses to start with it', () => {
    const app = new OpenAPIHono<AuthEnv>();
    const response = { 200: { description: 'ok' } };
    app.openapi(createRoute({ method: 'get', path: '/orders', ...guarded('listOrders'), responses: response }), (c) =>
      c.body(null, 200),
    );
    app.openapi(createRoute({ method: 'delete', path: '/orders/{id}', responses: response }), (c) => c.body(null, 200));
    app.get('/orders/plain', (c) => c.body(null, 200));
    app.get('/healthz', (c) => c.body(null, 200));
    assert.deepEqual(unguardedRoutes(app, ['/orders']), ['DELETE /orders/:id', 'GET /orders/plain']);
  });
});
