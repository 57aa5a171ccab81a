import { Hono } from 'hono';
import { newSiteRequest, readsForRequest, site, siteChange, siteList, siteParams } from '../../contract/sites.ts';
import { ACCESS } from '../access.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { mount } from '../route.ts';

/** The sites of the network: listed for anyone signed in (names, not patients), created by admins, audited. */
export function siteRoutes(deps: ApiDeps) {
  const app = new Hono();
  mount(app, {
    method: 'get', path: '/v1/sites', operationId: 'listSites', access: ACCESS.anyone, tag: 'identity',
    summary: 'The sites (institutions) of this Lantern',
    responses: { 200: { description: 'The sites.', json: siteList } },
  }, async (c) => c.json({ items: await deps.store.listSites() }));
  mount(app, {
    method: 'post', path: '/v1/sites', operationId: 'createSite', access: ACCESS.admin, tag: 'identity',
    summary: 'Add a site',
    body: newSiteRequest,
    responses: { 201: { description: 'The site.', json: site } },
    errors: { 409: 'SITE_EXISTS', 422: 'VALIDATION_FAILED: a bad field, or a parent site that does not exist or is not of a higher level.' },
  }, async (c, { body, auth }) => {
    if (!(await deps.store.createSite(body, auth.user.username))) throw new ApiError(409, 'SITE_EXISTS', `there is already a site ${body.id}`);
    return c.json({ ...body, readsFor: [] }, 201);
  });
  mount(app, {
    method: 'patch', path: '/v1/sites/{siteId}', operationId: 'updateSite', access: ACCESS.admin, tag: 'identity',
    summary: 'Rename a site, change its level or its parent',
    description: 'A parent must be of a higher level than its child (village < township < county < city), which also keeps a chain of parents from looping; `parentId: null` detaches the site. Audited with before and after.',
    params: siteParams,
    body: siteChange,
    responses: { 200: { description: 'The site as changed.', json: site } },
    errors: { 404: 'NOT_FOUND: no such site.', 422: 'VALIDATION_FAILED: a bad field; a parent that does not exist or is not above the level; a level not above a child\'s.' },
  }, async (c, { params, body, auth }) => c.json(await deps.store.updateSite(params.siteId, body, auth.user.username)));
  mount(app, {
    method: 'put', path: '/v1/sites/{siteId}/reads-for', operationId: 'setSitesReadFor', access: ACCESS.admin, tag: 'identity',
    summary: 'Set the full list of sites this site reads for',
    description: 'Users of this site then read the studies of those sites too (direct only: not the sites those read for). Replaces the list; audited with before and after.',
    params: siteParams,
    body: readsForRequest,
    responses: { 200: { description: 'The site with its new list.', json: site } },
    errors: { 404: 'NOT_FOUND: no such site.', 422: 'VALIDATION_FAILED: a site that does not exist, the site itself, or a site named twice.' },
  }, async (c, { params, body, auth }) => c.json(await deps.store.setSitesReadFor(params.siteId, body.readsFor, auth.user.username)));
  return app;
}
