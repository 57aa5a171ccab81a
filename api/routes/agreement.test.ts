import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wilson } from '../../tools/evaluation/metrics.ts';
import { startTestApi, type TestApi } from '../../test/support/api-role.ts';
import type { AgreementGroup } from '../../contract/agreement.ts';

type Answer = { generatedAt: string; groups: AgreementGroup[]; error?: { code: string; details: { field: string }[] } };

/** RFC 4180 with quoted cells, as a spreadsheet reads it. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (ch === '"') quoted = false; else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(cell); cell = ''; } else if (ch === '\r' && text[i + 1] === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; i++; } else cell += ch;
  }
  return rows;
}

describe('GET /v1/agreement', () => {
  let api: TestApi;
  const get = (query = '') => api.client.json<Answer>(`/v1/agreement${query}`);
  const decide = async (findingId: string, decision: 'accept' | 'override', reasonCode?: string) =>
    expect((await api.client.review(findingId, { decision, reasonCode })).status).toBe(201);
  /** Pins when a finding was made and when each of its decisions came, so time to decision and days are known. */
  const pin = (findingId: string, createdAt: string, decidedAfterSeconds: number) => Promise.all([
    api.store.db.query('update findings set created_at = $2 where id = $1', [findingId, createdAt]),
    api.store.db.query(`update reviews set created_at = $2::timestamptz + make_interval(secs => $3) where finding_id = $1`, [findingId, createdAt, decidedAfterSeconds]),
  ]);

  beforeAll(async () => {
    api = await startTestApi();
    const pneumonia = [];
    for (let i = 0; i < 6; i++) {
      const study = await api.addStudy();
      pneumonia.push({ study, finding: await api.addFinding(study.sopInstanceUid, { probability: 0.5 + i * 0.08 }) });
    }
    const [f1, f2, f3, f4, f5, f6] = pneumonia.map((p) => p.finding.id);
    await decide(f1, 'accept');
    await decide(f2, 'override', 'false-positive');
    await decide(f3, 'override', 'false-positive'); // amended below: only the latest decision counts
    await decide(f3, 'accept');
    await decide(f4, 'accept');
    await decide(f4, 'override', 'wrong-location');
    await decide(f6, 'override', 'false-positive');
    // f5 stays undecided.
    await pin(f1, '2026-11-20T10:00:00Z', 10);
    await pin(f2, '2026-11-20T10:00:00Z', 20);
    await pin(f3, '2026-11-21T10:00:00Z', 30);
    await pin(f4, '2026-11-21T10:00:00Z', 40);
    await pin(f5, '2026-11-21T10:00:00Z', 0);
    await pin(f6, '2026-11-21T23:59:30Z', 50); // decided on 22 November, UTC
    // A missed effusion on the first pneumonia study; one on a study no model read counts nowhere.
    expect((await api.client.json(`/v1/studies/${pneumonia[0].study.studyInstanceUid}/reader-findings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ label: 'effusion' }) })).status).toBe(201);

    for (let i = 0; i < 2; i++) {
      const study = await api.addStudy();
      const finding = await api.addFinding(study.sopInstanceUid, { probability: 0.6, model: 'nih-cxr-abnormal' });
      if (i === 0) await decide(finding.id, 'accept');
      await pin(finding.id, '2026-11-21T08:00:00Z', 60);
    }
  });
  afterAll(async () => api?.stop());

  it('when decisions were made, then each model version and label has its counts, counting an amended decision once by its latest', async () => {
    const { status, body } = await get();
    expect(status).toBe(200);
    expect(Date.parse(body.generatedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(body.groups.map((g) => [g.modelId, g.modelVersion, g.label])).toEqual([['nih-cxr-abnormal', '1.1.0', 'abnormal'], ['pneumonia-cxr', '1.1.0', 'pneumonia']]);
    const [nih, pneumonia] = body.groups;
    expect(pneumonia).toMatchObject({
      source: 'reader-review', display: 'Pneumonia', displayZh: '肺炎',
      findings: 6, decided: 5, accepted: 2, overridden: 3, amended: 2,
      acceptanceRate: 0.4, acceptanceCi95: wilson(2, 5).ci95,
      timeToDecisionSeconds: { median: 30, p90: 46 },
      readerFindings: 1,
    });
    expect(nih).toMatchObject({ findings: 2, decided: 1, accepted: 1, overridden: 0, amended: 0, acceptanceRate: 1, acceptanceCi95: wilson(1, 1).ci95, overrideReasons: [], readerFindings: 0 });
    expect(nih.displayZh).toMatch(/^异常/);
    expect(nih.timeToDecisionSeconds).toEqual({ median: 60, p90: 60 });
  });

  it('then override reasons come in Pareto order with their shares, and acceptance by the UTC day of the decision', async () => {
    const [, pneumonia] = (await get()).body.groups;
    expect(pneumonia.overrideReasons).toEqual([
      { code: 'false-positive', display: 'False positive: the finding is not present', displayZh: '假阳性：该发现并不存在', count: 2, share: 2 / 3, cumulativeShare: 2 / 3 },
      { code: 'wrong-location', display: 'Wrong location: the heatmap points elsewhere', displayZh: '位置错误：热图指向别处', count: 1, share: 1 / 3, cumulativeShare: 1 },
    ]);
    expect(pneumonia.byDay).toEqual([
      { date: '2026-11-20', decided: 2, accepted: 1, acceptanceRate: 0.5 },
      { date: '2026-11-21', decided: 2, accepted: 1, acceptanceRate: 0.5 },
      { date: '2026-11-22', decided: 1, accepted: 0, acceptanceRate: 0 },
    ]);
  });

  it('when filtered by time and model, then only findings made in the window by that model count', async () => {
    const window = await get('?from=2026-11-21&to=2026-11-21T12:00:00Z&model=pneumonia-cxr');
    expect(window.status).toBe(200);
    expect(window.body.groups).toHaveLength(1);
    expect(window.body.groups[0]).toMatchObject({ modelId: 'pneumonia-cxr', findings: 3, decided: 2, accepted: 1, overridden: 1, amended: 2, readerFindings: 0 });
    expect((await get('?model=nih-cxr-abnormal')).body.groups.map((g) => g.modelId)).toEqual(['nih-cxr-abnormal']);
    expect((await get('?from=2030-01-01')).body.groups).toEqual([]);
  });

  it.each([
    ['?from=yesterday', 'from'],
    ['?from=2026-11-22&to=2026-11-21', 'to'],
    ['?model=', 'model'],
    ['?modle=pneumonia-cxr', '(body)'],
  ])('when the query is bad (%s), then 422 names the field', async (query, field) => {
    const { status, body } = await get(query);
    expect(status).toBe(422);
    expect(body.error?.code).toBe('VALIDATION_FAILED');
    expect(body.error?.details.map((d) => d.field)).toContain(field);
  });

  it('when exported as CSV, then it downloads with a dated name, a header row and one row per group that matches the JSON', async () => {
    const response = await fetch(new URL('/v1/agreement.csv?model=pneumonia-cxr', api.url), { headers: api.authorization });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(response.headers.get('content-disposition')).toBe(`attachment; filename="lantern-agreement-${new Date().toISOString().slice(0, 10)}.csv"`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]); // UTF-8 byte order mark, for spreadsheets
    const [header, ...rows] = parseCsv(new TextDecoder().decode(bytes));
    expect(header).toEqual([
      'source', 'modelId', 'modelVersion', 'label', 'display', 'displayZh', 'findings', 'decided', 'accepted', 'overridden', 'amended',
      'acceptanceRate', 'acceptanceCi95Low', 'acceptanceCi95High', 'timeToDecisionMedianSeconds', 'timeToDecisionP90Seconds', 'readerFindings',
      'override:false-positive', 'override:false-negative', 'override:wrong-location', 'override:poor-image-quality', 'override:clinical-context', 'override:other',
      'override:data-outdated', 'override:already-addressed', 'override:no-reason-given',
    ]);
    const [g] = (await get('?model=pneumonia-cxr')).body.groups;
    expect(rows).toEqual([[
      'reader-review', g.modelId, g.modelVersion, g.label, g.display, g.displayZh, '6', '5', '2', '3', '2',
      '0.4', String(g.acceptanceCi95![0]), String(g.acceptanceCi95![1]), '30', '46', '1',
      '2', '0', '1', '0', '0', '0', '0', '0', '0',
    ]]);
  });
});
