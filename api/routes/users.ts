import { Hono } from 'hono';
import { newUserRequest, user, userChange, userList, usernameParams, type User } from '../../contract/identity.ts';
import { ACCESS } from '../access.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { mount } from '../route.ts';

/** Accounts, managed by admins; each creation and change is audited with the admin as actor. */
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
  mount(app, {
    method: 'patch', path: '/v1/users/{username}', operationId: 'updateUser', access: ACCESS.admin, tag: 'identity',
    summary: 'Change a user\'s name, roles or sites, or disable (or enable) the account',
    description: 'Disabling ends the user\'s sessions and bearer tokens at once (an open event stream within 15 s). Audited as user.updated, user.disabled or user.enabled.',
    params: usernameParams,
    body: userChange,
    responses: { 200: { description: 'The account as it now is.', json: user } },
    errors: { 404: 'No such user.', 409: 'OWN_ACCOUNT: an admin cannot disable themselves or drop their own admin role.', 422: 'VALIDATION_FAILED: a bad field, or a site that does not exist.' },
  }, async (c, { params, body, auth }) => {
    // Locking oneself out of administration needs a second admin to undo: refused.
    if (params.username === auth.user.username && (body.disabled || (body.roles && !body.roles.includes('admin')))) {
      throw new ApiError(409, 'OWN_ACCOUNT', 'you cannot disable your own account or remove your own admin role; another admin can');
    }
    return c.json(await deps.store.updateUser(params.username, body, auth.user.username));
  });
  return app;
}
