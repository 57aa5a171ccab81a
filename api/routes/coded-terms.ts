import type { Hono } from 'hono';
import { codedTerms, type CodedTerm } from '../../contract/reading.ts';
import { ACCESS } from '../access.ts';
import { mount } from '../route.ts';

/** A vocabulary the viewer offers (codes with English and Chinese names), open to anyone signed in. */
export function mountCodedTerms(app: Hono, route: { path: string; operationId: string; summary: string }, items: readonly CodedTerm[]): void {
  mount(app, {
    method: 'get', ...route, access: ACCESS.anyone, tag: 'reading',
    responses: { 200: { description: 'Codes with English and Chinese names.', json: codedTerms } },
  }, (c) => c.json({ items }));
}
