/**
 * One remote consultation (远程会诊) in a real Chromium against the real stack (redis-server,
 * PGlite, the API and a worker running the bundled model): a township doctor sends a real
 * chest film, opens it and asks the county hospital — which reads for the township — through
 * the study view's dialog; a county radiologist, in a second browser, finds the case first in
 * the queue, opens it (the film is drawn), answers; the doctor's page, left open, shows the
 * answer without a reload, and the printable report prints to a PDF. Screens in both
 * languages land in test-output/consultation/; the queue and the case also at 360 px wide.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from './support/api-client.ts';
import { canvasStats, horizontalOverflow, launchChromium, screenshotDrawn, setViewerLanguage, signedInPage } from './support/browser.ts';
import { files } from './support/shared-data.ts';
import { newUser, type SignedIn } from './support/sign-in.ts';
import { startStack, type Stack } from './support/stack.ts';
import { ensureViewerBuilt } from '../scripts/ensure-deps.mjs';

const repo = fileURLToPath(new URL('..', import.meta.url));
const shots = join(repo, 'test-output', 'consultation');
const COUNTY = 'qingshan-county';
const TOWNSHIP = 'baihe-township';
const QUESTION = 'Cough and fever for 5 days, SpO2 93%. Is this pneumonia, and should we refer? 咳嗽发热5天。';
const IMPRESSION = 'Patchy opacity in the right lower zone, consistent with community-acquired pneumonia.';
const SCREEN = { width: 1280, height: 800 };

describe('consultation: a township doctor asks, a county radiologist answers, live', () => {
  let stack: Stack;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];
  let doctor: SignedIn;
  let radiologist: SignedIn;
  let studyUid: string;

  const pageOf = (user: SignedIn, viewport = SCREEN, lang: 'en' | 'zh' = 'en') => signedInPage(browser, user, { viewport, lang, contexts, pageErrors });
  /** A drawn screen (not a blank one) under test-output; with `docs`, the palette copy for docs/screens/ beside it. */
  const shoot = (page: Page, name: string, testId: string, docs?: string) => screenshotDrawn(page, join(shots, name), testId, docs && join(shots, docs));

  /** The study view's film is on its canvas: many grey levels, not a blank or uniform one. */
  async function filmDrawn(page: Page): Promise<void> {
    await page.getByTestId('image-canvas').waitFor();
    await page.waitForFunction(() => (document.querySelector('[data-testid="image-status"]') as HTMLElement | null)?.hidden === true, undefined, { timeout: 30_000 });
    const drawn = await canvasStats(page);
    expect(drawn.width).toBeGreaterThan(100);
    expect(drawn.sd).toBeGreaterThan(20);
    expect(drawn.levels).toBeGreaterThan(64);
  }


  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    ensureViewerBuilt();
    stack = await startStack({ workers: 1 });
    const admin = apiClient(stack.baseUrl, stack.token);
    const post = (path: string, body: unknown, method = 'POST') => admin.json(path, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post('/v1/sites', { id: COUNTY, name: 'Qingshan County Hospital', level: 'county' })).status).toBe(201);
    expect((await post('/v1/sites', { id: TOWNSHIP, name: 'Baihe Township Clinic', level: 'township', parentId: COUNTY })).status).toBe(201);
    expect((await post(`/v1/sites/${COUNTY}/reads-for`, { readsFor: [TOWNSHIP] }, 'PUT')).status).toBe(200);
    doctor = await newUser(stack.baseUrl, stack.token, { username: 'dr-tang', displayName: 'Dr Tang (Baihe)', roles: ['grassroots-doctor'], sites: [TOWNSHIP] });
    radiologist = await newUser(stack.baseUrl, stack.token, { username: 'dr-chen', displayName: 'Dr Chen (Qingshan)', roles: ['radiologist'], sites: [COUNTY] });

    // The township's film, sent by the doctor: it is filed under the township.
    const doctorApi = apiClient(stack.baseUrl, doctor.token);
    const { status, body } = await doctorApi.stow([files.chestRaw]);
    expect(status).toBe(200);
    studyUid = body.stored![0].studyInstanceUid;
    await doctorApi.settled(studyUid, 120_000);
    browser = await launchChromium();
  }, 300_000);

  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await stack?.stop();
  });

  it('when the doctor asks about a film and the county answers, then the case tops the queue, the film is drawn, the answer reaches the open page live and the report prints', async () => {
    // The doctor opens the film and asks, through the study view's dialog.
    const asker = await pageOf(doctor);
    await asker.goto(`${stack.baseUrl}#/study/${encodeURIComponent(studyUid)}`);
    await asker.getByTestId('ask-consultation').click();
    const dialog = asker.getByTestId('ask-dialog');
    await dialog.waitFor();
    await expect.poll(() => dialog.getByTestId('ask-site').locator('option').allTextContents()).toEqual(['Qingshan County Hospital (county)']);
    await dialog.getByTestId('ask-question').fill(QUESTION);
    await dialog.getByTestId('ask-urgency').selectOption('urgent');
    // Without the patient's consent nothing is sent.
    await dialog.getByTestId('ask-send').click();
    await expect.poll(() => dialog.getByTestId('ask-error').textContent()).toMatch(/consent/);
    expect(await asker.evaluate(() => location.hash)).toMatch(/^#\/study\//);
    await dialog.getByTestId('ask-consent').check();
    await dialog.getByTestId('ask-send').click();
    await asker.waitForURL(/#\/consultations\/[^/]+$/);
    const caseId = decodeURIComponent(new URL(asker.url()).hash.replace('#/consultations/', ''));
    await asker.getByTestId('waiting-answer').waitFor();
    expect(await asker.getByTestId('case-question').textContent()).toBe(QUESTION);
    // A marker the page keeps only if it is never reloaded: the answer must arrive without one.
    await asker.evaluate(() => { (window as unknown as { notReloaded: boolean }).notReloaded = true; });

    // The county radiologist's queue: the case first, with its level, urgency, asking site and clock.
    const consultant = await pageOf(radiologist);
    await consultant.goto(`${stack.baseUrl}#/consultations`);
    const first = consultant.getByTestId('box-queue-list').getByTestId('consultation-row').first();
    await expect.poll(() => first.getAttribute('data-id')).toBe(caseId);
    expect(await first.getByTestId('case-site').textContent()).toContain('Baihe Township Clinic');
    expect(await first.getByTestId('case-urgency').getAttribute('data-urgency')).toBe('urgent');
    expect(await first.getByTestId('case-question').textContent()).toContain('Cough and fever');
    expect(await first.getByTestId('sla').textContent()).toMatch(/min \/ 2 h/);
    await shoot(consultant, 'queue-en.png', 'box-queue', 'consultation-queue-en.png');
    await setViewerLanguage(consultant, 'zh');
    await consultant.getByTestId('box-queue-list').getByTestId('consultation-row').first().waitFor();
    expect(await consultant.getByTestId('box-queue').locator('h2').textContent()).toBe('本机构受邀会诊');
    await shoot(consultant, 'queue-zh.png', 'box-queue');
    await setViewerLanguage(consultant, 'en');

    // Keyboard: Tab reaches the case, Enter opens it.
    await consultant.getByTestId('box-queue-list').getByTestId('consultation-row').first().waitFor();
    for (let i = 0; i < 40 && !(await consultant.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.testid === 'consultation-row')); i++) await consultant.keyboard.press('Tab');
    expect(await consultant.evaluate(() => (document.activeElement as HTMLElement).dataset.id)).toBe(caseId);
    await consultant.keyboard.press('Enter');
    await consultant.waitForURL(/#\/consultations\/[^/]+$/);

    // The case: the township's film as the reader sees it, drawn; viewing it opened the case.
    await filmDrawn(consultant);
    expect(await consultant.getByTestId('finding').count()).toBeGreaterThan(0);
    await expect.poll(() => consultant.getByTestId('case-panel').getByTestId('case-status').getAttribute('data-status')).toBe('in-review');
    expect(await consultant.getByTestId('case-opened-by').textContent()).toContain('dr-chen');
    // The asker's page follows: opened, still no answer.
    await expect.poll(() => asker.getByTestId('case-panel').getByTestId('case-status').getAttribute('data-status')).toBe('in-review');
    await consultant.getByTestId('opinion-impression').fill(IMPRESSION);
    await consultant.getByTestId('opinion-recommendation').selectOption('refer');
    await shoot(consultant, 'case-en.png', 'case-panel');
    await setViewerLanguage(consultant, 'zh');
    await filmDrawn(consultant);
    expect(await consultant.getByTestId('opinion-recommendation').locator('option').allTextContents()).toEqual(['转诊', '本地治疗', '重新拍片', '进一步检查', '随访']);
    await consultant.getByTestId('opinion-impression').fill('右下肺野斑片影，符合社区获得性肺炎。');
    // The AI's heatmap over the film, as the reader sees it.
    await consultant.getByTestId('finding').first().getByTestId('heatmap-toggle').click();
    await expect.poll(() => consultant.getByTestId('heatmap-overlay').evaluate((el) => {
      const c = el as HTMLCanvasElement;
      const { data } = c.getContext('2d')!.getImageData(0, 0, c.width, c.height);
      let visible = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) visible++;
      return visible;
    })).toBeGreaterThan(1000);
    await shoot(consultant, 'case-zh.png', 'case-panel', 'consultation-case-zh.png');
    await setViewerLanguage(consultant, 'en');

    // The answer.
    await consultant.getByTestId('opinion-impression').fill(IMPRESSION);
    await consultant.getByTestId('opinion-recommendation').selectOption('refer');
    await consultant.getByTestId('opinion-urgency').selectOption('urgent');
    await consultant.getByTestId('opinion-text').fill('Refer to the county hospital today for antibiotics and a repeat film in 6 weeks.');
    await consultant.getByTestId('opinion-submit').click();
    await expect.poll(() => consultant.getByTestId('case-opinion').getAttribute('data-recommendation')).toBe('refer');

    // The doctor's page, never reloaded, shows it.
    const answer = asker.getByTestId('case-opinion');
    await answer.waitFor({ timeout: 20_000 });
    expect(await asker.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect(await answer.getAttribute('data-recommendation')).toBe('refer');
    expect(await answer.getByTestId('opinion-impression-text').textContent()).toBe(IMPRESSION);
    expect(await answer.getByTestId('opinion-answered-by').textContent()).toContain('dr-chen');
    expect(await asker.getByTestId('case-panel').getByTestId('case-status').getAttribute('data-status')).toBe('answered');
    await filmDrawn(asker);
    await shoot(asker, 'answer-en.png', 'case-opinion', 'consultation-answer-en.png');
    await setViewerLanguage(asker, 'zh');
    await asker.getByTestId('case-opinion').waitFor();
    await filmDrawn(asker);
    expect(await asker.getByTestId('opinion-recommendation-text').textContent()).toBe('转诊');
    await shoot(asker, 'answer-zh.png', 'case-opinion');

    // The asker's box holds it answered, with the opinion's gist; the consultant's holds it in the queue only (not as asked).
    await asker.getByTestId('case-back').click();
    const asked = asker.getByTestId('box-asked-list').locator(`[data-testid="consultation-row"][data-id="${caseId}"]`);
    await expect.poll(() => asked.getAttribute('data-status')).toBe('answered');
    expect(await asked.getByTestId('opinion-summary').textContent()).toContain('转诊');
    await consultant.goto(`${stack.baseUrl}#/consultations`);
    await consultant.getByTestId('box-queue-list').getByTestId('consultation-row').first().waitFor();
    expect(await consultant.getByTestId('box-asked-list').getByTestId('consultation-row').count()).toBe(0);
    await setViewerLanguage(asker, 'en');

    // The county reads the township's film but does not ask about it on the township's behalf.
    await consultant.goto(`${stack.baseUrl}#/study/${encodeURIComponent(studyUid)}`);
    await consultant.getByTestId('finding').first().waitFor();
    expect(await consultant.getByTestId('ask-consultation').count()).toBe(0);

    // The report: one printable page with the question and the answer, in the reader's language, printed to PDF.
    await asker.goto(`${stack.baseUrl}#/consultations/${encodeURIComponent(caseId)}`);
    for (const lang of ['en', 'zh'] as const) {
      await setViewerLanguage(asker, lang);
      const [report] = await Promise.all([asker.context().waitForEvent('page'), asker.getByTestId('case-report').click()]);
      await report.waitForLoadState('load');
      expect(new URL(report.url()).searchParams.get('lang')).toBe(lang);
      const text = (await report.textContent('body'))!;
      expect(text).toContain(QUESTION);
      expect(text).toContain(IMPRESSION);
      expect(text).toContain(lang === 'zh' ? '转诊' : 'Refer');
      const pdf = await report.pdf({ format: 'A4', printBackground: true });
      writeFileSync(join(shots, `report-${lang}.pdf`), pdf);
      expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
      expect(pdf.length).toBeGreaterThan(10_000);
      expect(pdf.toString('latin1').match(/\/Type\s*\/Page\b/g)?.length).toBeGreaterThanOrEqual(1);
      await report.close();
    }

    expect(pageErrors).toEqual([]);
  }, 300_000);

  it('when the doctor asks about a hints answer, then it tops the open county queue live by its triage level and the consultant sees the same level and reasons', async () => {
    // The county's queue is open before the case is asked: it must arrive without a reload.
    const consultant = await pageOf(radiologist);
    await consultant.goto(`${stack.baseUrl}#/consultations`);
    await consultant.getByTestId('box-queue-list').getByTestId('consultation-row').first().waitFor();
    await consultant.evaluate(() => { (window as unknown as { notReloaded: boolean }).notReloaded = true; });

    const asker = await pageOf(doctor);
    await asker.goto(`${stack.baseUrl}#/hints`);
    await asker.getByTestId('hints-form').waitFor();
    // RISK-EQUATIONS.md §4's NEWS2 case (aggregate 8: high).
    for (const [key, value] of Object.entries({ respiratoryRate: '22', spo2: '94', systolicBp: '105', pulse: '105', temperature: '38.4' })) await asker.getByTestId(`field-${key}`).fill(value);
    await asker.getByTestId('field-spo2Scale').selectOption('1');
    await asker.getByTestId('field-consciousness').selectOption('alert');
    await asker.getByTestId('field-supplementalOxygen').setChecked(true);
    await asker.getByTestId('calculate').click();
    const level = await asker.getByTestId('hint-result').getByTestId('triage').getAttribute('data-level');
    const reasons = await asker.getByTestId('hint-result').getByTestId('triage-reason').allTextContents();
    expect(reasons.length).toBeGreaterThan(0);
    await asker.getByTestId('ask-consultation').click();
    const dialog = asker.getByTestId('ask-dialog');
    await dialog.getByTestId('ask-question').fill('NEWS2 8 at home visit: transfer now or treat here?');
    await dialog.getByTestId('ask-urgency').selectOption('emergency');
    await dialog.getByTestId('ask-patient-id').fill('BH-0042');
    await dialog.getByTestId('ask-consent').check();
    await dialog.getByTestId('ask-send').click();
    await asker.waitForURL(/#\/consultations\/[^/]+$/);
    const caseId = decodeURIComponent(new URL(asker.url()).hash.replace('#/consultations/', ''));
    await asker.getByTestId('case-assessment').getByTestId('triage').waitFor();

    // Its level (from the NEWS2 answer) is above the film's: it comes first in the county's queue.
    const first = consultant.getByTestId('box-queue-list').getByTestId('consultation-row').first();
    await expect.poll(() => first.getAttribute('data-id')).toBe(caseId);
    expect(await consultant.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect(await first.getByTestId('case-level').getAttribute('data-level')).toBe(level);
    await first.click();
    const assessment = consultant.getByTestId('case-assessment');
    await assessment.getByTestId('triage').waitFor();
    expect(await assessment.getByTestId('triage').getAttribute('data-level')).toBe(level);
    expect(await assessment.getByTestId('triage-reason').allTextContents()).toEqual(reasons);
    expect(await assessment.getByTestId('ai-assisted').count()).toBe(1);
    expect(await consultant.getByTestId('case-patient').textContent()).toContain('BH-0042');
    await shoot(consultant, 'assessment-case-en.png', 'case-assessment');
    await expect.poll(() => consultant.getByTestId('case-panel').getByTestId('case-status').getAttribute('data-status')).toBe('in-review');
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('when the doctor asks about a patient\'s home vital signs, then the case links to that patient\'s trend, and her withdrawal reaches the consultant\'s page live', async () => {
    // A home reading of the patient's, filed at the township.
    const at = new Date(Date.now() - 30 * 60_000).toISOString();
    const observations = [
      { parameter: 'respiratoryRate', value: 24, unit: '/min', at },
      { parameter: 'spo2', value: 93, unit: '%', at },
      { parameter: 'supplementalOxygen', value: false, at },
      { parameter: 'systolicBp', value: 102, unit: 'mmHg', at },
      { parameter: 'pulse', value: 112, unit: '/min', at },
      { parameter: 'consciousness', value: 'alert', at },
      { parameter: 'temperature', value: 38.6, unit: '°C', at },
    ];
    const recorded = await apiClient(stack.baseUrl, doctor.token).json('/v1/vitals', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ patientId: 'BH-0042', deviceId: 'home-monitor-1', observations }),
    });
    expect(recorded.status).toBe(200);
    const asked = await apiClient(stack.baseUrl, doctor.token).json<{ id: string }>('/v1/consultations', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ toSiteId: COUNTY, subject: { kind: 'vitals', patientId: 'BH-0042' }, question: 'NEWS2 rising at home over two days: admit?', urgency: 'urgent', patientConsented: true }),
    });
    expect(asked.status).toBe(201);
    const consultant = await pageOf(radiologist);
    await consultant.goto(`${stack.baseUrl}#/consultations/${encodeURIComponent(asked.body.id)}`);
    const link = consultant.getByTestId('case-patient-link');
    await link.waitFor();
    // The patient key of contract/vitals.ts: the FHIR Patient id of (site, Patient ID).
    const key = createHash('sha256').update(`${TOWNSHIP}|BH-0042`).digest('hex').slice(0, 40);
    expect(await link.getAttribute('href')).toBe(`#/patients/${key}`);
    expect(await link.textContent()).toContain('BH-0042');
    await consultant.getByTestId('opinion-form').waitFor();

    // The doctor withdraws it: the consultant's open page stops offering the opinion form.
    const asker = await pageOf(doctor);
    await asker.goto(`${stack.baseUrl}#/consultations/${encodeURIComponent(asked.body.id)}`);
    await asker.getByTestId('case-withdraw').click();
    await expect.poll(() => asker.getByTestId('case-panel').getByTestId('case-status').getAttribute('data-status')).toBe('withdrawn');
    expect(await asker.getByTestId('case-withdrawn-by').textContent()).toContain('dr-tang');
    await expect.poll(() => consultant.getByTestId('case-panel').getByTestId('case-status').getAttribute('data-status'), { timeout: 20_000 }).toBe('withdrawn');
    expect(await consultant.getByTestId('opinion-form').count()).toBe(0);

    // The link leads to the patient's trend, which the county may read (it reads for the township).
    await consultant.getByTestId('case-patient-link').click();
    await expect.poll(() => consultant.getByTestId('vitals-patient').textContent()).toContain('BH-0042');
    expect(await consultant.getByTestId('vitals-plots').count()).toBe(1);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('when the queue and a case are opened on a 360 px phone, then nothing scrolls sideways', async () => {
    const phone = await pageOf(radiologist, { width: 360, height: 740 });
    await phone.goto(`${stack.baseUrl}#/consultations`);
    const row = phone.locator('[data-testid="box-queue-list"] [data-testid="consultation-row"][data-status="answered"]');
    await row.waitFor();
    expect(await horizontalOverflow(phone)).toBe(0);
    await phone.screenshot({ path: join(shots, 'queue-360.png') });
    await row.click();
    await phone.getByTestId('case-panel').waitFor();
    await phone.getByTestId('case-opinion').waitFor();
    await filmDrawn(phone);
    expect(await horizontalOverflow(phone)).toBe(0);
    await phone.screenshot({ path: join(shots, 'case-360.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
