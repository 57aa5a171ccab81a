/**
 * Site scope across the care network: a user reads the studies of its own sites and of the
 * sites they read for (direct only), decides on them, and files what it sends in under its
 * own first site. County C reads for township T; T reads for village V; C does not read for V.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Session } from '../contract/identity.ts';
import type { Site } from '../contract/sites.ts';
import type { apiClient } from '../test/support/api-client.ts';
import { startTestApi, type TestApi } from '../test/support/api-role.ts';
import { withFreshUids } from '../test/support/dicom-builder.ts';
import { files } from '../test/support/shared-data.ts';

type Client = ReturnType<typeof apiClient>;

interface Placed {
  client: Client;
  token: string;
  studyInstanceUid: string;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  findingId: string;
}

const put = (body: unknown): RequestInit => ({ method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const post = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('site scope: a site reads for another', () => {
  let api: TestApi;
  let county: Placed;
  let township: Placed;
  let village: Placed;

  async function place(username: string, site: string): Promise<Placed> {
    const { client, token } = await api.signIn(username, ['radiologist', 'grassroots-doctor'], [site]);
    const { studyInstanceUid, sopInstanceUid } = await api.addStudy(files.chestRaw, client);
    const finding = await api.addFinding(sopInstanceUid, { probability: 0.97 });
    const { body } = await client.study(studyInstanceUid);
    return { client, token, studyInstanceUid, sopInstanceUid, seriesInstanceUid: body.instances[0].seriesInstanceUid, findingId: finding.id };
  }

  beforeAll(async () => {
    api = await startTestApi();
    for (const site of [
      { id: 'county-c', name: 'County C hospital', level: 'county' },
      { id: 'township-t', name: 'Township T clinic', level: 'township', parentId: 'county-c' },
      { id: 'village-v', name: 'Village V clinic', level: 'village', parentId: 'township-t' },
    ]) expect((await api.client.json('/v1/sites', post(site))).status).toBe(201);
    expect((await api.client.json('/v1/sites/county-c/reads-for', put({ readsFor: ['township-t'] }))).status).toBe(200);
    expect((await api.client.json('/v1/sites/township-t/reads-for', put({ readsFor: ['village-v'] }))).status).toBe(200);
    county = await place('reader-county', 'county-c');
    township = await place('doctor-township', 'township-t');
    village = await place('doctor-village', 'village-v');
  }, 120_000);
  afterAll(() => api?.stop());

  const worklistOf = async (who: Placed) => (await who.client.worklist()).map((i) => i.studyInstanceUid);
  const status = async (who: Placed, path: string, init?: RequestInit) => {
    const response = await fetch(new URL(path, api.url), { ...init, headers: { authorization: `Bearer ${who.token}`, ...init?.headers } });
    await response.arrayBuffer();
    return response.status;
  };
  const frame = (s: Placed) => `/dicomweb/studies/${s.studyInstanceUid}/series/${s.seriesInstanceUid}/instances/${s.sopInstanceUid}/frames/1`;
  const qido = async (who: Placed, studyInstanceUid: string) => {
    const response = await fetch(new URL(`/dicomweb/studies?StudyInstanceUID=${studyInstanceUid}`, api.url), { headers: { authorization: `Bearer ${who.token}`, accept: 'application/dicom+json' } });
    return response.status === 204 ? [] : await response.json() as unknown[];
  };

  it('when the county reads for the township, then the county user\'s worklist holds the township\'s study and its own, not the village\'s', async () => {
    const list = await worklistOf(county);
    expect(list).toContain(county.studyInstanceUid);
    expect(list).toContain(township.studyInstanceUid);
    expect(list).not.toContain(village.studyInstanceUid);
    expect((await county.client.worklist()).find((i) => i.studyInstanceUid === township.studyInstanceUid)).toMatchObject({ siteId: 'township-t' });
  });

  it('then the county user opens the township\'s study, its frames and finds it by QIDO; the village\'s study does not exist for it', async () => {
    expect((await county.client.study(township.studyInstanceUid)).status).toBe(200);
    expect(await status(county, frame(township), { headers: { accept: 'multipart/related; type="application/octet-stream"' } })).toBe(200);
    expect(await qido(county, township.studyInstanceUid)).toHaveLength(1);
    expect((await county.client.study(village.studyInstanceUid)).status).toBe(404);
    expect(await status(county, frame(village), { headers: { accept: 'multipart/related; type="application/octet-stream"' } })).toBe(404);
    expect(await qido(county, village.studyInstanceUid)).toHaveLength(0);
  });

  it('when the township is read for, then its user still does not see the county\'s study, but sees the village it reads for', async () => {
    const list = await worklistOf(township);
    expect(list).not.toContain(county.studyInstanceUid);
    expect(list).toEqual(expect.arrayContaining([township.studyInstanceUid, village.studyInstanceUid]));
    expect((await township.client.study(county.studyInstanceUid)).status).toBe(404);
    expect(await qido(township, county.studyInstanceUid)).toHaveLength(0);
  });

  it('when the county user filters the worklist by site, then it holds that site\'s studies only; a site it does not read is 422', async () => {
    const only = async (query: string) => (await county.client.json<{ items: { studyInstanceUid: string; siteId: string }[] }>(`/v1/worklist?${query}`));
    const township_ = await only('site=township-t');
    expect(township_.status).toBe(200);
    expect(township_.body.items.map((i) => i.studyInstanceUid)).toEqual([township.studyInstanceUid]);
    expect(new Set((await only('site=county-c,township-t')).body.items.map((i) => i.siteId))).toEqual(new Set(['county-c', 'township-t']));
    for (const query of ['site=village-v', 'site=atlantis', 'site=township-t,village-v']) {
      const { status: code, body } = await county.client.json<{ error: { details: { field: string }[] } }>(`/v1/worklist?${query}`);
      expect({ query, code, field: body.error.details[0].field }).toEqual({ query, code: 422, field: 'site' });
    }
  });

  it('when a model team of the county filters the research list by site, then a site it reads is answered and one it does not is 422', async () => {
    const { client } = await api.signIn('team-county', ['model-team'], ['county-c']);
    expect((await client.json('/v1/research/studies?site=township-t')).status).toBe(200);
    expect((await client.json('/v1/research/studies?site=village-v')).status).toBe(422);
  });

  it('when the agreement dashboard is filtered by site, then it counts the findings on that site\'s studies only; an unknown site is 422', async () => {
    type Groups = { groups: { source: string; modelId: string; label: string; findings: number }[] };
    const pneumonia = (body: Groups) => body.groups.find((g) => g.source === 'reader-review' && g.modelId === 'pneumonia-cxr')?.findings;
    const all = await api.client.json<Groups>('/v1/agreement');
    const one = await api.client.json<Groups>('/v1/agreement?site=village-v');
    const two = await api.client.json<Groups>('/v1/agreement?site=village-v,township-t');
    expect([pneumonia(all.body), pneumonia(one.body), pneumonia(two.body)]).toEqual([3, 1, 2]);
    const csv = await fetch(new URL('/v1/agreement.csv?site=village-v', api.url), { headers: api.authorization });
    expect((await csv.text()).split('\r\n').filter((line) => line.startsWith('reader-review,pneumonia-cxr,'))).toHaveLength(1);
    expect((await api.client.json('/v1/agreement?site=atlantis')).status).toBe(422);
  });

  it('then the session names the sites the user\'s sites read for', async () => {
    const { status: code, body } = await county.client.json<Session>('/v1/session');
    expect(code).toBe(200);
    expect(body.user).toMatchObject({ sites: ['county-c'], readsFor: ['township-t'] });
    expect((await village.client.json<Session>('/v1/session')).body.user.readsFor).toEqual([]);
  });

  it('when the county radiologist reviews the township\'s finding, then the decision is kept, by the county radiologist', async () => {
    const { status: code, body } = await county.client.review(township.findingId, { decision: 'accept' });
    expect(code).toBe(201);
    expect(body.review?.id).toBeTruthy();
    const audit = await api.client.audit('?limit=50');
    expect(audit.find((r) => r.action === 'finding.accept' && r.entityId === township.findingId)?.actor).toBe('reader-county');
  });

  it('when the county user sends an image into the township\'s study, then it is refused: what a user sends in is filed under its own site', async () => {
    const image = withFreshUids(fs.readFileSync(files.chestRaw), 9_301, { studyInstanceUid: township.studyInstanceUid });
    const { status: code, body } = await county.client.stow([image]);
    expect(code).toBe(409);
    expect(body.error?.code).toBe('STUDY_OF_ANOTHER_SITE');
  });

  it('when a study of the township changes, then the county user\'s event stream tells of it', async () => {
    const controller = new AbortController();
    const response = await fetch(new URL('/v1/events', api.url), { headers: { authorization: `Bearer ${county.token}` }, signal: controller.signal });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    try {
      let text = '';
      while (!text.includes(': connected')) text += (await reader.read()).value;
      await village.client.review(village.findingId, { decision: 'accept' });
      await township.client.review(township.findingId, { decision: 'override', reasonCode: 'false-positive' });
      while (!text.includes(township.studyInstanceUid)) text += (await reader.read()).value;
      expect(text).not.toContain(village.studyInstanceUid);
    } finally {
      controller.abort();
    }
  });

  it('when an admin names the site itself, an unknown site or a site twice, then 422 and the list stays; an unknown site is 404', async () => {
    for (const readsFor of [['county-c'], ['atlantis'], ['township-t', 'township-t']]) {
      const { status: code } = await api.client.json('/v1/sites/county-c/reads-for', put({ readsFor }));
      expect({ readsFor, code }).toEqual({ readsFor, code: 422 });
    }
    expect((await api.client.json('/v1/sites/atlantis/reads-for', put({ readsFor: [] }))).status).toBe(404);
    const { body } = await api.client.json<{ items: Site[] }>('/v1/sites');
    expect(body.items.find((s) => s.id === 'county-c')?.readsFor).toEqual(['township-t']);
  });

  it('when an admin changes what a site reads for, then it is audited with before and after, and the scope follows on the next request', async () => {
    expect((await api.client.json('/v1/sites/county-c/reads-for', put({ readsFor: ['village-v', 'township-t'] }))).status).toBe(200);
    expect(await worklistOf(county)).toContain(village.studyInstanceUid);
    const { status: code, body } = await api.client.json<Site>('/v1/sites/county-c/reads-for', put({ readsFor: ['township-t'] }));
    expect(code).toBe(200);
    expect(body.readsFor).toEqual(['township-t']);
    expect(await worklistOf(county)).not.toContain(village.studyInstanceUid);
    const changes = (await api.client.audit('?limit=100')).filter((r) => r.action === 'site.reads-for.set' && r.entityId === 'county-c');
    expect(changes.map((r) => r.payload)).toEqual(expect.arrayContaining([
      { before: ['township-t'], after: ['township-t', 'village-v'] },
      { before: ['township-t', 'village-v'], after: ['township-t'] },
    ]));
    // The same list again is no change: nothing audited.
    await api.client.json('/v1/sites/county-c/reads-for', put({ readsFor: ['township-t'] }));
    expect((await api.client.audit('?limit=100')).filter((r) => r.action === 'site.reads-for.set' && r.entityId === 'county-c')).toHaveLength(changes.length);
  });
});
