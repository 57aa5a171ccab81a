/**
 * The grassroots doctor's story in a real Chromium against `lantern start`: the hints
 * page turns the worked examples of ../shared/data/reference/RISK-EQUATIONS.md into the
 * published numbers (NEWS2 8 high; Pooled Cohort Equations 5.3 % for the Table A white
 * man; China-PAR 11.0 % for the paper's man, 4.7 % for the 2019 guideline's man in
 * mmol/L), names the field the API refused, reads in Chinese after a switch, and fits a
 * 360×740 phone. Screenshots land in test-output/hints/ and are checked by their pixels.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { horizontalOverflow, launchChromium, pngStats } from './support/browser.ts';
import { newUser, type SignedIn } from './support/sign-in.ts';
import { startStack, type Stack } from './support/stack.ts';
import { ensureViewerBuilt } from '../scripts/ensure-deps.mjs';

const repo = fileURLToPath(new URL('..', import.meta.url));
const shots = join(repo, 'test-output', 'hints');
/** The doctor's account (a grassroots doctor who also administers the clinic's Lantern, so she may read the audit trail). */
const DOCTOR = 'dr-li-hints';

/** A form entry: text for a number (optionally with its unit), a choice for a select, a tick for a checkbox. */
type Entry = string | { value: string; unit: string } | boolean;

/** RISK-EQUATIONS.md §4, second test case, with the temperature given in °F (38.4 °C). */
const NEWS2_HIGH: Record<string, Entry> = {
  respiratoryRate: '22',
  spo2: '94',
  spo2Scale: '1',
  supplementalOxygen: true,
  systolicBp: '105',
  pulse: '105',
  consciousness: 'alert',
  temperature: { value: '101.12', unit: '°F' },
};

/** §1 Table A: white man 55, TC 213, HDL 50 mg/dL, untreated SBP 120, non-smoker, no diabetes → 5.3 % printed (5.38 full precision). */
const PCE_TABLE_A: Record<string, Entry> = {
  age: '55',
  sex: 'male',
  race: 'white',
  totalCholesterol: { value: '213', unit: 'mg/dL' },
  hdlCholesterol: { value: '50', unit: 'mg/dL' },
  systolicBp: '120',
};

/** §3 China-PAR paper example, man: 60, untreated SBP 130, TC 210, HDL 55 mg/dL, waist 80, diabetes, north, urban → 11.0 %. */
const CHINA_PAR_MAN: Record<string, Entry> = {
  age: '60',
  sex: 'male',
  systolicBp: '130',
  totalCholesterol: { value: '210', unit: 'mg/dL' },
  hdlCholesterol: { value: '55', unit: 'mg/dL' },
  waist: '80',
  diabetes: true,
  north: true,
  urban: true,
};

/** §3, the 2019 guideline appendix: man 40, north, urban, waist 80, TC 5.2 / HDL 1.3 mmol/L, SBP 145, family history → 4.7 % (low). */
const CHINA_PAR_GUIDELINE: Record<string, Entry> = {
  age: '40',
  sex: 'male',
  systolicBp: '145',
  totalCholesterol: { value: '5.2', unit: 'mmol/L' },
  hdlCholesterol: { value: '1.3', unit: 'mmol/L' },
  waist: '80',
  north: true,
  urban: true,
  'familyHistory@china-par': true,
};

async function fill(page: Page, entries: Record<string, Entry>): Promise<void> {
  for (const [key, entry] of Object.entries(entries)) {
    const field = page.getByTestId(`field-${key}`);
    const tag = await field.evaluate((el) => (el instanceof HTMLInputElement && el.type === 'checkbox' ? 'checkbox' : el.tagName.toLowerCase()));
    if (typeof entry === 'boolean') await field.setChecked(entry);
    else if (tag === 'select') await field.selectOption(entry as string);
    else if (typeof entry === 'string') await field.fill(entry);
    else {
      await page.getByTestId(`unit-${key}`).selectOption(entry.unit);
      await field.fill(entry.value);
    }
  }
}

async function calculate(page: Page): Promise<void> {
  const before = await page.getByTestId('hint-result').evaluate((el) => el.innerHTML);
  await page.getByTestId('calculate').click();
  await page.waitForFunction(
    (prev) => {
      const el = document.querySelector('[data-testid="hint-result"]');
      return el !== null && el.innerHTML !== prev && !el.classList.contains('stale') && el.querySelector('[data-testid="triage"]') !== null;
    },
    before,
  );
}

const result = (page: Page, model: string): Locator => page.locator(`[data-testid="result"][data-model="${model}"]`);
const figure = async (card: Locator, testId: string) => Number(await card.getByTestId(testId).getAttribute('data-value'));

/** The screenshot holds a drawn card: many colours overall, and ink and colour inside the card's box. */
async function screenshotShows(page: Page, path: string, card: Locator): Promise<void> {
  await card.scrollIntoViewIfNeeded();
  const box = (await card.boundingBox())!;
  const png = await page.screenshot({ path });
  const whole = await pngStats(png);
  expect(whole.colours).toBeGreaterThan(20);
  const inCard = await pngStats(png, { left: box.x, top: Math.max(0, box.y), width: box.width, height: Math.min(box.height, page.viewportSize()!.height - Math.max(0, box.y)) });
  expect(inCard.colours).toBeGreaterThan(6);
  expect(inCard.inkShare).toBeGreaterThan(0.04);
}

describe('hints page: vitals and risk factors in, triage, scores and risks out', () => {
  let stack: Stack;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];

  let doctor: SignedIn;

  /** A fresh doctor's browser at this size; she is signed in, the language is the browser's. */
  async function openHints(viewport: { width: number; height: number }, browserLocale = 'en-GB'): Promise<Page> {
    const context = await browser.newContext({ viewport, locale: browserLocale });
    contexts.push(context);
    await doctor.signInBrowser(context);
    const page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${stack.baseUrl}#/hints`);
    await page.getByTestId('hints-form').waitFor();
    return page;
  }

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    ensureViewerBuilt();
    stack = await startStack({ workers: 0 });
    doctor = await newUser(stack.baseUrl, stack.token, { username: DOCTOR, displayName: 'Dr Li', roles: ['grassroots-doctor', 'admin'] });
    browser = await launchChromium();
  }, 240_000);

  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await stack?.stop();
  });

  it('when a doctor enters the worked examples, then the page shows the published NEWS2, PCE and China-PAR values with bands, reasons and the AI-assisted note', async () => {
    const page = await openHints({ width: 1280, height: 720 });
    expect(await horizontalOverflow(page)).toBe(0);
    // The form comes from the cards: units are the card's, and a model says what it still needs.
    expect(await page.getByTestId('unit-temperature').locator('option').allTextContents()).toEqual(['°C', '°F']);
    expect(await page.getByTestId('unit-totalCholesterol').locator('option').allTextContents()).toEqual(['mg/dL', 'mmol/L']);
    expect(await page.locator('label[for="hint-temperature"]').textContent()).toBe('Temperature');
    expect(await page.getByTestId('ready-news2').getAttribute('data-ready')).toBe('false');
    await page.screenshot({ path: join(shots, 'en-1280-form.png') });

    await fill(page, NEWS2_HIGH);
    expect(await page.getByTestId('ready-news2').getAttribute('data-ready')).toBe('true');
    await calculate(page);
    const news2 = result(page, 'news2');
    expect(await figure(news2, 'score-value')).toBe(8);
    expect(await news2.getByTestId('band').getAttribute('data-band')).toBe('high');
    expect(await news2.getByTestId('band').textContent()).toMatch(/^High \(7 or more\): emergency response/);
    expect(await news2.locator('[data-testid="term"][data-term="temperature"]').textContent()).toContain('1 point');
    const triage = page.getByTestId('triage');
    expect(['I', 'II']).toContain(await triage.getAttribute('data-level'));
    expect(await triage.getByTestId('triage-level-text').textContent()).toMatch(/emergent|resuscitation/i);
    expect(await triage.getByTestId('triage-reason').allTextContents()).toContainEqual(expect.stringContaining('NEWS2 8'));
    expect(await page.getByTestId('ai-assisted').textContent()).toContain('AI-assisted, confirm clinically');
    // qSOFA shares the respiratory rate and blood pressure but needs the GCS: not calculated, and says why.
    expect(await result(page, 'qsofa').count()).toBe(0);
    expect(await page.locator('[data-testid="missing"][data-model="qsofa"]').textContent()).toContain('Glasgow Coma Scale');
    await screenshotShows(page, join(shots, 'en-1280-news2.png'), triage);

    // Table A's white man: the Pooled Cohort Equations give 5.3 % as printed (5.38 % at full precision).
    await page.getByTestId('clear').click();
    await fill(page, PCE_TABLE_A);
    await calculate(page);
    const pce = result(page, 'pce-ascvd');
    expect(Math.abs((await figure(pce, 'risk-percent')) - 5.3)).toBeLessThanOrEqual(0.1);
    expect(await pce.getByTestId('risk-percent').textContent()).toBe('5.4%');
    expect(await pce.getByTestId('band').getAttribute('data-band')).toBe('borderline');
    expect(await pce.getByTestId('contribution').count()).toBeGreaterThanOrEqual(4);
    expect(await pce.getByTestId('warning').count()).toBe(0);

    // The China-PAR paper's man: 11.0 %, high; Framingham takes the same inputs; PCE needs race, CDRS the BMI.
    await page.getByTestId('clear').click();
    await fill(page, CHINA_PAR_MAN);
    await calculate(page);
    const chinaPar = result(page, 'china-par');
    expect(await chinaPar.getByTestId('risk-percent').textContent()).toBe('11.0%');
    expect(await chinaPar.getByTestId('band').getAttribute('data-band')).toBe('high');
    expect(await chinaPar.getByTestId('band').textContent()).toBe('High (≥10%)');
    expect(await result(page, 'framingham-cvd-2008').count()).toBe(1);
    expect(await page.locator('[data-testid="missing"][data-model="pce-ascvd"]').textContent()).toContain('Race');
    expect(await page.locator('[data-testid="missing"][data-model="cdrs"]').textContent()).toContain('Body-mass index');
    // The contributions say in words which way each term pushes.
    const diabetes = chinaPar.locator('[data-testid="contribution"][data-term="diabetes"]');
    expect(await diabetes.textContent()).toMatch(/Diabetes.*adds \d/);
    await screenshotShows(page, join(shots, 'en-1280-china-par.png'), chinaPar);

    // An age outside the validated range is answered, with the warning beside the number.
    await page.getByTestId('field-age').fill('80');
    await calculate(page);
    const warning = result(page, 'china-par').getByTestId('warning');
    expect(await warning.getAttribute('data-code')).toBe('OUTSIDE_VALIDATED_RANGE');
    expect(await warning.textContent()).toMatch(/Age 80 years is outside the range the model was validated on \(35–74 years\)/);

    // Each calculation is in the audit trail under the doctor's name.
    await page.getByTestId('nav-audit').click();
    const audited = page.locator(`[data-testid="audit-row"][data-actor="${DOCTOR}"][data-action="triage.calculated"]`);
    await expect.poll(() => audited.count()).toBe(4);
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('when an input is impossible, then the API\'s reason shows next to that field and is announced to assistive technology', async () => {
    const page = await openHints({ width: 1280, height: 720 });
    await fill(page, { ...NEWS2_HIGH, temperature: { value: '120', unit: '°C' }, pulse: 'fast' });
    await page.getByTestId('calculate').click();
    const tempError = page.getByTestId('error-temperature');
    await tempError.waitFor();
    expect(await tempError.textContent()).toContain('outside the possible range 25–45 °C');
    expect(await page.getByTestId('error-pulse').textContent()).toContain('expected a finite number');
    const input = page.getByTestId('field-temperature');
    expect(await input.getAttribute('aria-invalid')).toBe('true');
    expect((await input.getAttribute('aria-describedby'))!.split(' ')).toContain(await tempError.getAttribute('id'));
    expect(await page.getByTestId('hints-error').textContent()).toMatch(/2 inputs need attention/);
    // No answer is shown for a refused request.
    expect(await page.getByTestId('triage').count()).toBe(0);
    const box = (await page.locator('[data-field="temperature"]').boundingBox())!;
    const png = await page.screenshot({ path: join(shots, 'en-1280-field-error.png') });
    // The error line is drawn in its own colour inside the field's box.
    expect((await pngStats(png, { left: box.x, top: box.y, width: box.width, height: box.height })).colours).toBeGreaterThan(4);

    // Fixing the fields clears the errors and calculates.
    await fill(page, { temperature: '38.4', pulse: '105' });
    await calculate(page);
    expect(await page.getByTestId('error-temperature').isHidden()).toBe(true);
    expect(await figure(result(page, 'news2'), 'score-value')).toBe(8);
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('when the patient is a child, then NEWS2 says it is not applicable and why, gives no score, and the triage says first, in both languages, that NEWS2 was not calculated and is not non-urgent; an adult with no age gets NEWS2 with the caveat', async () => {
    const page = await openHints({ width: 1280, height: 720 });
    await fill(page, { ...NEWS2_HIGH, age: '12' });
    await calculate(page);
    expect(await result(page, 'news2').count()).toBe(0);
    const declined = page.locator('[data-testid="not-applicable"][data-model="news2"]');
    expect(await declined.getAttribute('data-code')).toBe('OUTSIDE_POPULATION_AGE');
    expect(await declined.getByTestId('not-applicable-reason').textContent()).toBe('patient age 12 y outside 16–120 y');
    // RR 22 on oxygen and pulse 105 were scored by nothing: the triage names that first and does not rank the child IV on them.
    const firstReason = page.getByTestId('triage-reason').first();
    expect(await firstReason.getAttribute('data-code')).toBe('news2-not-calculated');
    expect(await firstReason.textContent()).toMatch(/^NEWS2 \(National Early Warning Score 2\) not calculated: patient age 12 y outside 16–120 y\. .*assess them clinically.*PEWS/);
    expect(await page.getByTestId('triage').getAttribute('data-level')).toBe('III');
    await screenshotShows(page, join(shots, 'en-1280-news2-child.png'), declined);
    await page.getByTestId('lang-zh').click();
    await expect.poll(() => firstReason.textContent()).toMatch(/^国家早期预警评分2（NEWS2）未计算：患者年龄 12 岁 不在 16–120 岁之内。.*请结合临床评估/);
    await page.getByTestId('lang-en').click();
    await expect.poll(() => firstReason.textContent()).toMatch(/^NEWS2 \(National Early Warning Score 2\) not calculated/);

    await page.getByTestId('field-age').fill('');
    await calculate(page);
    const news2 = result(page, 'news2');
    expect(await figure(news2, 'score-value')).toBe(8);
    // Neither the age nor a pregnancy is given, and nothing says one is impossible: both are named as unchecked.
    const caveats = news2.getByTestId('caveat');
    expect(await caveats.evaluateAll((els) => els.map((el) => el.getAttribute('data-code')))).toEqual(['AGE_NOT_RECORDED', 'PREGNANCY_NOT_RECORDED']);
    expect(await caveats.allTextContents()).toEqual(['Not checked: patient age not recorded.', 'Not checked: pregnancy not recorded.']);
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('when the patient is pregnant, then NEWS2 says it is not applicable and names an obstetric chart, and the triage says first that NEWS2 was not calculated; not pregnant, it is scored with nothing unchecked', async () => {
    const page = await openHints({ width: 1280, height: 720 });
    await fill(page, { ...NEWS2_HIGH, age: '29', sex: 'female', pregnant: 'yes' });
    await calculate(page);
    expect(await result(page, 'news2').count()).toBe(0);
    const declined = page.locator('[data-testid="not-applicable"][data-model="news2"]');
    expect(await declined.getAttribute('data-code')).toBe('OUTSIDE_POPULATION_PREGNANCY');
    expect(await declined.getByTestId('not-applicable-reason').textContent()).toBe('the patient is pregnant, a population this score was not validated in: use an obstetric early-warning chart (e.g. MEOWS)');
    const firstReason = page.getByTestId('triage-reason').first();
    expect(await firstReason.getAttribute('data-code')).toBe('news2-not-calculated');
    expect(await page.getByTestId('triage').getAttribute('data-level')).toBe('III');
    await screenshotShows(page, join(shots, 'en-1280-news2-pregnant.png'), declined);
    await page.getByTestId('lang-zh').click();
    await expect.poll(() => declined.getByTestId('not-applicable-reason').textContent()).toBe('患者妊娠，本评分未在妊娠人群中验证：请使用产科早期预警评分（如 MEOWS）');
    expect(await page.getByTestId('field-pregnant').locator('option:checked').textContent()).toBe('是');
    await page.getByTestId('lang-en').click();

    await fill(page, { pregnant: 'no' });
    await calculate(page);
    const news2 = result(page, 'news2');
    expect(await figure(news2, 'score-value')).toBe(8);
    expect(await news2.getByTestId('caveat').count()).toBe(0);
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('when the doctor switches to Chinese with the keyboard, then the page and the clinical text are Chinese and the patient is kept', async () => {
    const page = await openHints({ width: 1280, height: 720 });
    await fill(page, NEWS2_HIGH);
    await calculate(page);
    await page.getByTestId('lang-zh').focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('h1').textContent()).toBe('诊断提示');
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('zh-CN');
    expect(await page.getByTestId('lang-zh').getAttribute('aria-pressed')).toBe('true');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('lang-zh');
    expect(await page.getByTestId('nav-hints').textContent()).toBe('诊断提示');
    expect(await page.locator('label[for="hint-temperature"]').textContent()).toBe('体温');
    // What was typed, and the answer, survive the switch; the answer now reads in Chinese.
    expect(await page.getByTestId('field-pulse').inputValue()).toBe('105');
    const news2 = result(page, 'news2');
    expect(await news2.getByTestId('band').textContent()).toMatch(/^高危（≥7分）/);
    expect(await page.getByTestId('triage-level-text').textContent()).toMatch(/级/);
    expect(await page.getByTestId('triage-reason').allTextContents()).toContainEqual(expect.stringContaining('NEWS2 8分'));
    expect(await page.getByTestId('ai-assisted').textContent()).toContain('AI辅助结果，请结合临床确认');
    await screenshotShows(page, join(shots, 'zh-1280-news2.png'), page.getByTestId('triage'));

    // The 2019 guideline's man, cholesterol in mmol/L: 4.7 % printed (4.87 % from the table), low, in Chinese.
    await page.getByTestId('clear').click();
    await fill(page, CHINA_PAR_GUIDELINE);
    await calculate(page);
    const chinaPar = result(page, 'china-par');
    expect(Math.abs((await figure(chinaPar, 'risk-percent')) - 4.7)).toBeLessThanOrEqual(0.2);
    expect(await chinaPar.getByTestId('band').textContent()).toBe('低危（<5%）');
    expect(await chinaPar.locator('h3').textContent()).toContain('China-PAR 中国动脉粥样硬化性心血管疾病');
    expect(await chinaPar.getByTestId('contribution').first().textContent()).toMatch(/[\u4e00-\u9fff]/);
    // A population warning in Chinese, rebuilt from the card: the Pima model was validated in women only.
    await fill(page, { bmi: '27', glucose2hOgtt: { value: '7.8', unit: 'mmol/L' } });
    await calculate(page);
    const pima = result(page, 'diabetes-pima');
    expect(await pima.getByTestId('warning').getAttribute('data-code')).toBe('OUTSIDE_VALIDATED_POPULATION');
    expect(await pima.getByTestId('warning').textContent()).toBe('性别“男”不在模型的验证人群内（女）。');
    await screenshotShows(page, join(shots, 'zh-1280-china-par.png'), chinaPar);

    // The audit trail reads in Chinese too.
    await page.getByTestId('nav-audit').click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('审计记录');
    expect(await page.getByTestId('verify').textContent()).toBe('校验链');
    expect(await page.locator('[data-testid="audit"] th').allTextContents()).toEqual(['序号', '时间', '操作者', '操作', '对象', '内容', '哈希']);
    expect(pageErrors).toEqual([]);
  }, 120_000);

  for (const lang of ['en', 'zh'] as const) {
    it(`when the page is used on a 360×740 phone in ${lang}, then nothing scrolls sideways and the answer is under the form`, async () => {
      const page = await openHints({ width: 360, height: 740 }, lang === 'zh' ? 'zh-CN' : 'en-GB');
      expect(await page.locator('h1').textContent()).toBe(lang === 'zh' ? '诊断提示' : 'Diagnostic hints');
      expect(await horizontalOverflow(page)).toBe(0);
      await page.screenshot({ path: join(shots, `${lang}-360-form.png`) });
      await fill(page, { ...NEWS2_HIGH, ...CHINA_PAR_MAN, systolicBp: '105' });
      await calculate(page);
      expect(await figure(result(page, 'news2'), 'score-value')).toBe(8);
      expect(await horizontalOverflow(page)).toBe(0);
      const triage = page.getByTestId('triage');
      const formBox = (await page.getByTestId('hints-form').boundingBox())!;
      const triageBox = (await triage.boundingBox())!;
      expect(triageBox.y).toBeGreaterThan(formBox.y + formBox.height - 1);
      expect(triageBox.x + triageBox.width).toBeLessThanOrEqual(360);
      await screenshotShows(page, join(shots, `${lang}-360-result.png`), triage);
      await screenshotShows(page, join(shots, `${lang}-360-china-par.png`), result(page, 'china-par'));
      expect(await horizontalOverflow(page)).toBe(0);
      expect(pageErrors).toEqual([]);
    }, 120_000);
  }
});
