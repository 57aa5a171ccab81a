/**
 * Site administration: sites form a tree by parent with levels rising toward the root
 * (village < township < county < city), every change audited with before and after.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Site } from '../../contract/sites.ts';
import { startTestApi, type TestApi } from '../../test/support/api-role.ts';

const send = (method: string, body: unknown): RequestInit => ({ method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('PATCH /v1/sites/{siteId}', () => {
  let api: TestApi;
  const patch = (id: string, body: unknown) => api.client.json<Site & { error?: { code: string; details?: { field: string }[] } }>(`/v1/sites/${id}`, send('PATCH', body));
  const sites = async () => (await api.client.json<{ items: Site[] }>('/v1/sites')).body.items;

  beforeAll(async () => {
    api = await startTestApi();
    for (const site of [
      { id: 'city-a', name: 'City A hospital', level: 'city' },
      { id: 'county-b', name: 'County B hospital', level: 'county', parentId: 'city-a' },
      { id: 'township-c', name: 'Township C clinic', level: 'township', parentId: 'county-b' },
    ]) expect((await api.client.json('/v1/sites', send('POST', site))).status).toBe(201);
  }, 120_000);
  afterAll(() => api?.stop());

  it('then the embedded default is one site, main, reading for none', async () => {
    expect((await sites()).find((s) => s.id === 'main')).toEqual({ id: 'main', name: 'This clinic', level: 'county', readsFor: [] });
  });

  it('when an admin renames a site and moves it under another parent, then the list shows it and the audit holds before and after', async () => {
    const { status, body } = await patch('township-c', { name: 'Township C health centre', parentId: 'main' });
    expect(status).toBe(200);
    expect(body).toEqual({ id: 'township-c', name: 'Township C health centre', level: 'township', parentId: 'main', readsFor: [] });
    expect((await sites()).find((s) => s.id === 'township-c')).toEqual(body);
    const [record] = (await api.client.audit('?limit=20')).filter((r) => r.action === 'site.updated' && r.entityId === 'township-c');
    expect(record).toMatchObject({
      actor: 'tester',
      payload: { before: { name: 'Township C clinic', level: 'township', parentId: 'county-b' }, after: { name: 'Township C health centre', level: 'township', parentId: 'main' } },
    });
  });

  it('when a parent would not be above its child, or a chain of parents would loop, then 422 naming the field and nothing changes', async () => {
    const before = await sites();
    const auditBefore = (await api.client.audit('?limit=500')).length;
    for (const [id, change, field] of [
      ['county-b', { parentId: 'township-c' }, 'parentId'], // a township above a county
      ['city-a', { parentId: 'county-b' }, 'parentId'], // county-b's parent is city-a: a loop
      ['county-b', { parentId: 'county-b' }, 'parentId'], // its own parent
      ['county-b', { parentId: 'main' }, 'parentId'], // the same level
      ['county-b', { level: 'city' }, 'parentId'], // as high as its parent, city-a
      ['main', { level: 'township' }, 'level'], // township-c is a child of main
      ['county-b', { parentId: 'atlantis' }, 'parentId'],
    ] as const) {
      const { status, body } = await patch(id, change);
      expect({ id, change, status, field: body.error?.details?.[0].field }).toEqual({ id, change, status: 422, field });
    }
    expect(await sites()).toEqual(before);
    expect((await api.client.audit('?limit=500')).length).toBe(auditBefore);
  });

  it('when an admin detaches a site, or sends nothing to change, or names an unknown site, then 200, 422 and 404', async () => {
    expect((await patch('county-b', { parentId: null })).body).toMatchObject({ id: 'county-b', level: 'county' });
    expect((await sites()).find((s) => s.id === 'county-b')?.parentId).toBeUndefined();
    expect((await patch('county-b', {})).status).toBe(422);
    expect((await patch('county-b', { level: 'province' })).status).toBe(422);
    expect((await patch('atlantis', { name: 'Atlantis' })).status).toBe(404);
  });

  it('when a new site names a parent that is not above it, then 422 and it is not created', async () => {
    const { status } = await api.client.json('/v1/sites', send('POST', { id: 'village-d', name: 'Village D', level: 'village', parentId: 'city-a' }));
    expect(status).toBe(201);
    expect((await api.client.json('/v1/sites', send('POST', { id: 'county-e', name: 'County E', level: 'county', parentId: 'village-d' }))).status).toBe(422);
    expect((await sites()).map((s) => s.id)).not.toContain('county-e');
  });

  it('when a user who is not an admin changes a site, then 403', async () => {
    const { client } = await api.signIn('reader-only', ['radiologist']);
    expect((await client.json(`/v1/sites/county-b`, send('PATCH', { name: 'Mine' }))).status).toBe(403);
    expect((await client.json(`/v1/sites/county-b/reads-for`, send('PUT', { readsFor: [] }))).status).toBe(403);
  });
});
