/**
 * A study holding a report next to its film, in a real Chromium against the API role: the
 * reader sees the film drawn and the SR listed as an object without an image — never a frame
 * that cannot be drawn, never a page error.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { canvasStats, signInOnForm } from './support/browser.ts';
import { readerSuite } from './support/reader-suite.ts';
import { withFreshUids } from './support/dicom-builder.ts';
import { files } from './support/shared-data.ts';

const READER = 'dr-report';
const PASSWORD = 'a long non-image test password';

describe('viewer: a study with a structured report', () => {
  const reader = readerSuite(READER, PASSWORD);

  it('when the reader opens a study of a film and its SR, then the film is drawn and the SR is listed as a structured report without an image', async () => {
    const { api, page, pageErrors } = reader;
    const filmAnswer = (await api.client.stow([withFreshUids(fs.readFileSync(files.chestRaw), 31)])).body.stored![0];
    const report = withFreshUids(fs.readFileSync(files.report), 32, { studyInstanceUid: filmAnswer.studyInstanceUid });
    const srAnswer = (await api.client.stow([report])).body.stored![0];

    await page.goto(`${api.url}/#/study/${filmAnswer.studyInstanceUid}`);
    await signInOnForm(page, READER, PASSWORD);

    const listed = page.getByTestId('other-object');
    await listed.waitFor();
    expect(await listed.count()).toBe(1);
    expect(await listed.getAttribute('data-sop')).toBe(srAnswer.sopInstanceUid);
    expect(await listed.textContent()).toBe('Structured report (SR)');
    // The only image is the film: no picker offers the SR as an image.
    expect(await page.locator(`[data-testid="instance"][data-sop="${srAnswer.sopInstanceUid}"]`).count()).toBe(0);
    await expect.poll(async () => (await canvasStats(page)).sd, { timeout: 30_000 }).toBeGreaterThan(10);
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
