/**
 * A study holding a report next to its film, in a real Chromium against the API role: the
 * reader sees the film drawn and the SR (and the AI results SR of the model answered at ingest) listed as
 * objects without an image — never a frame
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
    // The film records no age: the children's model is answered at ingest, and its AI results SR stored in the study.
    const aiSrs = await api.answeredAtIngest(filmAnswer.sopInstanceUid);
    expect(aiSrs).toHaveLength(1);

    await page.goto(`${api.url}/#/study/${filmAnswer.studyInstanceUid}`);
    await signInOnForm(page, READER, PASSWORD);

    // Both SRs, the one sent and the AI results SR, are listed as structured reports.
    const listed = page.getByTestId('other-object');
    await listed.first().waitFor();
    await expect.poll(() => listed.count()).toBe(2);
    expect((await listed.evaluateAll((items) => items.map((i) => i.getAttribute('data-sop')))).sort()).toEqual([srAnswer.sopInstanceUid, ...aiSrs].sort());
    expect(await listed.allTextContents()).toEqual(['Structured report (SR)', 'Structured report (SR)']);
    // The only image is the film: no picker offers an SR as an image.
    for (const sop of [srAnswer.sopInstanceUid, ...aiSrs]) expect(await page.locator(`[data-testid="instance"][data-sop="${sop}"]`).count()).toBe(0);
    await expect.poll(async () => (await canvasStats(page)).sd, { timeout: 30_000 }).toBeGreaterThan(10);
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
