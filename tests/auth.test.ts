import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogInDocument, MeDocument, SignUpDocument } from './__generated__/graphql.ts';
import { createTokenSigner } from '../src/services/tokens.ts';
import { codes, startTestApp, type TestApp } from './helpers/app.ts';
import { PASSWORD, rawId, signUpTenant, uniqueSlug } from './helpers/tenants.ts';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ LOGIN_MAX_FAILURES: '3' });
});
afterAll(() => app?.close());

describe('sign-up, log-in and me', () => {
  it('signs up a tenant with its first ADMIN, logs in and reads me', async () => {
    const slug = uniqueSlug();
    const { signUp } = await app.ok(SignUpDocument, {
      tenantName: 'Acme Research',
      tenantSlug: slug.toUpperCase(),
      name: '  Ada Lovelace ',
      email: 'Ada@Example.COM',
      password: PASSWORD,
    });
    expect(signUp.tenant).toMatchObject({ slug, name: 'Acme Research' });
    expect(signUp.user).toMatchObject({ name: 'Ada Lovelace', email: 'ada@example.com', role: 'ADMIN' });
    expect(new Date(signUp.expiresAt).getTime()).toBeGreaterThan(Date.now());

    const { logIn } = await app.ok(LogInDocument, { tenantSlug: slug, email: 'ADA@example.com', password: PASSWORD });
    expect(logIn.user.id).toBe(signUp.user.id);

    const me = await app.ok(MeDocument, {}, logIn.token);
    expect(me.me).toMatchObject({ id: signUp.user.id, email: 'ada@example.com', role: 'ADMIN', status: 'ACTIVE' });
    expect(me.me.lastActiveAt).not.toBeNull();
    expect(me.tenant).toMatchObject({ id: signUp.tenant.id, slug });
  });

  it('refuses a taken slug with CONFLICT and loses nothing', async () => {
    const tenant = await signUpTenant(app);
    const again = await app.run(SignUpDocument, {
      tenantName: 'Other',
      tenantSlug: tenant.slug,
      name: 'Eve',
      email: 'eve@example.com',
      password: PASSWORD,
    });
    expect(codes(again)).toEqual(['CONFLICT']);
    expect(again.errors?.[0]?.extensions?.field).toBe('tenantSlug');
    const me = await app.ok(MeDocument, {}, tenant.admin.token);
    expect(me.tenant.name).toBe('Acme');
  });

  it.each([
    ['tenantSlug', { tenantSlug: 'A' }],
    ['email', { email: 'not-an-email' }],
    ['password', { password: 'short' }],
    ['name', { name: '   ' }],
  ])('rejects a bad %s with BAD_USER_INPUT naming the field', async (field, override) => {
    const result = await app.run(SignUpDocument, {
      tenantName: 'X',
      tenantSlug: uniqueSlug(),
      name: 'X',
      email: 'x@example.com',
      password: PASSWORD,
      ...override,
    });
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
    expect(result.errors?.[0]?.extensions?.field).toBe(field);
    expect(result.data).toBeNull();
  });

  it('answers a wrong password and an unknown account identically', async () => {
    const tenant = await signUpTenant(app);
    const wrong = await app.run(LogInDocument, { tenantSlug: tenant.slug, email: tenant.admin.email, password: 'nope-nope-nope' });
    const unknown = await app.run(LogInDocument, { tenantSlug: tenant.slug, email: 'ghost@example.com', password: PASSWORD });
    const noTenant = await app.run(LogInDocument, { tenantSlug: uniqueSlug(), email: tenant.admin.email, password: PASSWORD });
    for (const result of [wrong, unknown, noTenant]) {
      expect(codes(result)).toEqual(['UNAUTHENTICATED']);
      expect(result.errors?.[0]?.message).toBe('Invalid tenant, e-mail or password');
    }
  });

  it('locks an account after repeated failures, even for the right password, and says when to retry', async () => {
    const tenant = await signUpTenant(app);
    const attempt = (password: string) =>
      app.run(LogInDocument, { tenantSlug: tenant.slug, email: tenant.admin.email, password });
    for (let i = 0; i < 3; i++) expect(codes(await attempt('wrong-password-' + i))).toEqual(['UNAUTHENTICATED']);
    const locked = await attempt(PASSWORD);
    expect(codes(locked)).toEqual(['RATE_LIMITED']);
    expect(locked.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThanOrEqual(29);
    expect(locked.errors?.[0]?.extensions?.retryAfterSeconds).toBeLessThanOrEqual(30);
    // Other accounts are unaffected.
    const other = await signUpTenant(app);
    await app.ok(LogInDocument, { tenantSlug: other.slug, email: other.admin.email, password: PASSWORD });
  });

  it('rejects missing, malformed, forged and foreign tokens with UNAUTHENTICATED', async () => {
    const tenant = await signUpTenant(app);
    expect(new Set(codes(await app.run(MeDocument, {}, null)))).toEqual(new Set(['UNAUTHENTICATED']));
    const garbage = await app.run(MeDocument, {}, 'not.a.jwt');
    expect(codes(garbage)[0]).toBe('UNAUTHENTICATED');
    expect(garbage.errors?.[0]?.message).toMatch(/invalid or has expired/);
    // The same claims, signed with another secret.
    const forger = createTokenSigner('another-secret-another-secret-another-secret', 3600);
    const { token: forged } = await forger.sign({ userId: rawId(tenant.admin.id), tenantId: tenant.id });
    expect(codes(await app.run(MeDocument, {}, forged))[0]).toBe('UNAUTHENTICATED');
    // A genuine token still works, so the failure above is the signature's.
    expect((await app.ok(MeDocument, {}, tenant.admin.token)).me.id).toBe(tenant.admin.id);
  });
});
