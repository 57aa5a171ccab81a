import { Hono } from 'hono';
import { newUserRequest, user, userList, type User } from '../../contract/identity.ts';
import { ACCESS } from '../access.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { mount } from '../route.ts';

/** Local accounts, managed by admins; each creation is audited with the admin as actor. */
export function userRoutes(deps: ApiDeps) {
  const app = new Hono();
  mount(app, {
    method: 'get', path: '/v1/users', operationId: 'listUsers', access: ACCESS.admin, tag: 'identity',
    summary: 'Local accounts and their roles',
    responses: { 200: { description: 'The accounts.', json: userList } },
  }, async (c) => c.json({ items: await deps.store.listUsers() }));
  mount(app, {
    method: 'post', path: '/v1/users', operationId: 'createUser', access: ACCESS.admin, tag: 'identity',
    summary: 'Create a local account',
    body: newUserRequest,
    responses: { 201: { description: 'The account.', json: user } },
    errors: { 409: 'USERNAME_TAKEN', 422: 'VALIDATION_FAILED: a bad field, or a site that does not exist.' },
  }, async (c, { body, auth }) => {
    const created = { username: body.username, displayName: body.displayName, roles: body.roles, sites: body.sites } satisfies User;
    if (!(await deps.store.createUser({ ...created, password: body.password }, auth.user.username))) {
      throw new ApiError(409, 'USERNAME_TAKEN', `there is already a user ${body.username}`);
    }
    return c.json(created, 201);
  });
  return app;
}
