import { Hono, type Context } from 'hono';
import { z } from 'zod';
import {
  dateRange, dicomwebSeriesPath, dicomwebStudyPath, QIDO_DEFAULT_LIMIT, QIDO_KEY_TAGS, QIDO_MAX_LIMIT, qidoQuery, type DicomJsonDataset, type QidoQuery,
} from '../../contract/dicomweb-query.ts';
import { tagOfKeyword } from '../../dicom/dicom-json.ts';
import { findInstances, findSeries, findStudies, type IncludeFields } from '../../store/dicom-query.ts';
import { ACCESS } from '../access.ts';
import type { Authenticated } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { DICOM_JSON_RESPONSE, dicomJsonAnswer, dicomwebRoot, requireDicomJsonAccepted } from '../dicomweb-answer.ts';
import { ApiError, parseBody } from '../errors.ts';
import { mount, type RouteSpec } from '../route.ts';

/**
 * QIDO-RS (PS3.18 §10.6): studies, series and instances matching the query, of the caller's
 * sites only, as DICOM JSON; 200 with `[]` when nothing matches (404 when the study or series
 * searched in is not at the user's sites). Matching is store/dicom-query.ts
 * (the DIMSE C-FIND answers from the same functions). Keys are read by keyword or by tag, a
 * key given twice is a UID list; keys Lantern does not match on are ignored and named in a
 * Warning header, as PS3.18 §8.3.4.4 allows; a bad value of a key it does match on is a 422.
 * Each answer's studies are recorded as read (`dicomweb.searched`).
 */

const PARAMS = new Set(['limit', 'offset', 'includefield', 'fuzzymatching']);
const KEYWORDS = new Set(Object.keys(qidoQuery.shape));

/** Which keys each level matches on (besides the paging parameters). */
const LEVEL_KEYS = {
  study: ['PatientName', 'PatientID', 'AccessionNumber', 'StudyDescription', 'StudyDate', 'ModalitiesInStudy', 'StudyInstanceUID'],
  series: ['StudyInstanceUID', 'Modality', 'SeriesInstanceUID', 'SeriesNumber'],
  instance: ['StudyInstanceUID', 'SeriesInstanceUID', 'SOPInstanceUID', 'SOPClassUID', 'InstanceNumber'],
} as const;

/** The query as the client sent it, tags read as keywords and repeated keys joined; the keys left aside. */
function readQuery(c: Context, level: keyof typeof LEVEL_KEYS): { query: QidoQuery; warnings: string[] } {
  requireDicomJsonAccepted(c);
  const raw: Record<string, string> = {};
  const ignored: string[] = [];
  for (const [key, values] of Object.entries(c.req.queries())) {
    const name = QIDO_KEY_TAGS[key.toUpperCase()] ?? key;
    if (PARAMS.has(name) || (KEYWORDS.has(name) && (LEVEL_KEYS[level] as readonly string[]).includes(name))) raw[name] = values.join(',');
    else ignored.push(key.slice(0, 64));
  }
  return { query: parseBody(qidoQuery, raw), warnings: ignored.length ? [`The following query keys are not supported and were ignored: ${ignored.join(', ')}`] : [] };
}

function includeFields(value: string | undefined): IncludeFields['includeFields'] {
  if (!value) return undefined;
  const names = value.split(',').filter(Boolean);
  if (names.includes('all')) return 'all';
  return names.map((name) => {
    const tag = /^[0-9A-Fa-f]{8}$/.test(name) ? name.toUpperCase() : tagOfKeyword(name);
    if (!tag) throw new ApiError(422, 'VALIDATION_FAILED', `includefield: ${name.slice(0, 64)} is neither a DICOM keyword nor a tag`, [{ field: 'includefield', message: 'unknown attribute' }]);
    return tag;
  });
}

/** Limit, offset and includefield; a limit over the maximum gets the maximum (PS3.18 §8.3.4.4), `warnings` says so. */
function page(query: QidoQuery, warnings: string[]) {
  const asked = Number(query.limit ?? QIDO_DEFAULT_LIMIT);
  if (asked < 1) throw new ApiError(422, 'VALIDATION_FAILED', `limit must be 1–${QIDO_MAX_LIMIT}`, [{ field: 'limit', message: 'out of range' }]);
  if (asked > QIDO_MAX_LIMIT) warnings.push(`The limit ${asked} exceeds the maximum of ${QIDO_MAX_LIMIT} results per answer; page on with offset`);
  return { limit: Math.min(asked, QIDO_MAX_LIMIT), offset: Number(query.offset ?? 0), includeFields: includeFields(query.includefield) };
}

const list = (value: string | undefined) => (value ? value.split(',') : undefined);
const upper = (values: string[] | undefined) => values?.map((v) => v.toUpperCase());

/**
 * Searching inside a study (or series) that is not at the user's sites answers 404, as every
 * route naming a patient object does (api/sites.test.ts); an existing one with no match, `[]`.
 */
async function requireInScope(deps: ApiDeps, auth: Authenticated, datasets: DicomJsonDataset[], study: string, series?: string): Promise<void> {
  if (datasets.length) return;
  const found = series
    ? await findSeries(deps.store.db, { studyInstanceUid: study, seriesInstanceUids: [series], limit: 1, offset: 0 }, auth.scope)
    : await findStudies(deps.store.db, { studyInstanceUids: [study], limit: 1, offset: 0 }, auth.scope);
  if (!found.length) throw new ApiError(404, 'NOT_FOUND', `no such ${series ? 'series' : 'study'} at your sites`);
}

/** The answer, its studies recorded as read, with RetrieveURL (0008,1190) at each level and the warnings (ignored keys, a limit cut). */
function answer(c: Context, deps: ApiDeps, auth: Authenticated, datasets: DicomJsonDataset[], warnings: string[], url: (d: DicomJsonDataset) => string): Response {
  const studies = [...new Set(datasets.map((d) => String(d['0020000D']?.Value?.[0])))];
  if (studies.length) deps.store.recordRead(auth.user.username, { action: 'dicomweb.searched', entityType: 'list', entityId: 'qido-rs', what: 'view', studies });
  const root = dicomwebRoot(c);
  for (const d of datasets) d['00081190'] = { vr: 'UR', Value: [`${root}${url(d)}`] };
  return dicomJsonAnswer(c, datasets, warnings);
}

const uid = (d: DicomJsonDataset, tag: string) => String(d[tag]?.Value?.[0]);
const studyUrl = (d: DicomJsonDataset) => `/studies/${uid(d, '0020000D')}`;
const seriesUrl = (d: DicomJsonDataset) => `${studyUrl(d)}/series/${uid(d, '0020000E')}`;
const instanceUrl = (d: DicomJsonDataset) => `${seriesUrl(d)}/instances/${uid(d, '00080018')}`;

export function qidoRoutes(deps: ApiDeps) {
  const app = new Hono();
  const db = deps.store.db;
  const spec = <P extends z.ZodType | undefined>(path: string, operationId: string, summary: string, params: P): RouteSpec<P, typeof qidoQuery, undefined, typeof ACCESS.patientData> => ({
    method: 'get', path, operationId, access: ACCESS.patientData, tag: 'dicomweb', summary, params, query: qidoQuery,
    responses: { 200: DICOM_JSON_RESPONSE },
    errors: { 404: 'NOT_FOUND: the study or series searched in is not at the user\'s sites.', 406: 'NOT_ACCEPTABLE: the Accept header allows no JSON (application/dicom+xml is not offered).', 422: 'VALIDATION_FAILED: a query key Lantern matches on has a bad value (named in details).', 503: 'AUDIT_UNAVAILABLE: reads of patient data cannot be recorded at the moment.' },
  });

  mount(app, spec('/dicomweb/studies', 'searchForStudies', 'QIDO-RS studies (PS3.18 §10.6) at the user\'s sites', undefined), async (c, { auth }) => {
    const { query, warnings } = readQuery(c, 'study');
    const studies = await findStudies(db, {
      ...page(query, warnings), patientName: query.PatientName, patientId: query.PatientID, accessionNumber: query.AccessionNumber, studyDescription: query.StudyDescription,
      studyDate: query.StudyDate ? dateRange(query.StudyDate) : undefined, modalitiesInStudy: upper(list(query.ModalitiesInStudy)), studyInstanceUids: list(query.StudyInstanceUID),
    }, auth.scope);
    return answer(c, deps, auth, studies, warnings, studyUrl);
  });

  const seriesQuery = (query: QidoQuery, warnings: string[]) => ({
    ...page(query, warnings), modality: query.Modality?.toUpperCase(), seriesInstanceUids: list(query.SeriesInstanceUID),
    seriesNumber: query.SeriesNumber === undefined ? undefined : Number(query.SeriesNumber),
  });
  mount(app, spec('/dicomweb/series', 'searchForAllSeries', 'QIDO-RS series of every study at the user\'s sites', undefined), async (c, { auth }) => {
    const { query, warnings } = readQuery(c, 'series');
    const series = await findSeries(db, { ...seriesQuery(query, warnings), studyInstanceUid: list(query.StudyInstanceUID)?.[0] }, auth.scope);
    return answer(c, deps, auth, series, warnings, seriesUrl);
  });
  mount(app, spec('/dicomweb/studies/{study}/series', 'searchForSeries', 'QIDO-RS series of one study', dicomwebStudyPath), async (c, { params, auth }) => {
    const { query, warnings } = readQuery(c, 'series');
    const series = await findSeries(db, { ...seriesQuery(query, warnings), studyInstanceUid: params.study }, auth.scope);
    await requireInScope(deps, auth, series, params.study);
    return answer(c, deps, auth, series, warnings, seriesUrl);
  });

  const instanceQuery = (query: QidoQuery, warnings: string[]) => ({
    ...page(query, warnings), sopInstanceUids: list(query.SOPInstanceUID), sopClassUid: query.SOPClassUID,
    instanceNumber: query.InstanceNumber === undefined ? undefined : Number(query.InstanceNumber),
  });
  mount(app, spec('/dicomweb/studies/{study}/instances', 'searchForStudyInstances', 'QIDO-RS instances of one study', dicomwebStudyPath), async (c, { params, auth }) => {
    const { query, warnings } = readQuery(c, 'instance');
    const instances = await findInstances(db, { ...instanceQuery(query, warnings), studyInstanceUid: params.study, seriesInstanceUid: list(query.SeriesInstanceUID)?.[0] }, auth.scope);
    await requireInScope(deps, auth, instances, params.study);
    return answer(c, deps, auth, instances, warnings, instanceUrl);
  });
  mount(app, spec('/dicomweb/studies/{study}/series/{series}/instances', 'searchForInstances', 'QIDO-RS instances of one series', dicomwebSeriesPath), async (c, { params, auth }) => {
    const { query, warnings } = readQuery(c, 'instance');
    const instances = await findInstances(db, { ...instanceQuery(query, warnings), studyInstanceUid: params.study, seriesInstanceUid: params.series }, auth.scope);
    await requireInScope(deps, auth, instances, params.study, params.series);
    return answer(c, deps, auth, instances, warnings, instanceUrl);
  });
  return app;
}
