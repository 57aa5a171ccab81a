import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { ensureViewerBuilt } from '../../scripts/ensure-deps.mjs';
import { startTestApi, type TestApi } from './api-role.ts';
import { openReaderPage } from './browser.ts';

export interface ReaderSuite {
  api: TestApi;
  browser: Browser;
  page: Page;
  pageErrors: string[];
}

/**
 * A describe block's radiologist at a real Chromium against the in-process API role: the viewer
 * built, the API started, the reader's account made, a page open; all closed after the block.
 * Call it in the describe body; its fields are set once beforeAll has run.
 */
export function readerSuite(username: string, password: string): ReaderSuite {
  const suite = {} as ReaderSuite;
  beforeAll(async () => {
    ensureViewerBuilt();
    suite.api = await startTestApi();
    await suite.api.store.createUser({ username, displayName: username, roles: ['radiologist'], sites: ['main'], password }, 'test');
    Object.assign(suite, await openReaderPage());
  }, 240_000);
  afterAll(async () => {
    await suite.browser?.close();
    await suite.api?.stop();
  });
  return suite;
}
