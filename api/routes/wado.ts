import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { dicomwebInstancePath, dicomwebSeriesPath, dicomwebStudyPath, type DicomJsonDataset } from '../../contract/dicomweb-query.ts';
import { bulkValueOf, dicomJsonOf, servedPixelModule } from '../../dicom/dicom-json.ts';
import { hasDicmPrefix } from '../../dicom/parse.ts';
import { DicomError } from '../../dicom/errors.ts';
import { keepDicomJson, storedInstances, storedTransferSyntaxes, type InstanceScope, type StoredDicomInstance } from '../../store/dicom-query.ts';
import { ACCESS } from '../access.ts';
import type { Authenticated } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { acceptedRanges, DICOM_JSON, DICOM_JSON_RESPONSE, dicomwebRoot, multipartAnswer, requireDicomJsonAccepted, warning, type Part } from '../dicomweb-answer.ts';
import { ApiError } from '../errors.ts';
import { auditStudyRead } from '../read-audit.ts';
import { mount, type RouteSpec } from '../route.ts';

/**
 * WADO-RS (PS3.18 §10.4): the metadata of a study, series or instance as DICOM JSON, describing
 * the pixels `/frames` serves (dicom/dicom-json.ts servedPixelModule); the instances themselves
 * as multipart/related application/dicom with the bytes as they were received (Lantern never
 * re-encodes: a transfer syntax other than the stored one is a 406); and one binary attribute by
 * its BulkDataURI. Large studies are read a page of instances at a time and sent as they are
 * read, so memory holds one page of metadata or one object's bytes, whatever the study's size.
 * Each read is recorded as a read of the study (metadata: view, retrieve and bulk data: export).
 */

/** Instances read per page: bounded memory for metadata, one query per page. */
const PAGE = 200;

const NOT_FOUND = 'NOT_FOUND: nothing at that path at the user\'s sites.';
const AUDIT = 'AUDIT_UNAVAILABLE: reads of patient data cannot be recorded at the moment.';

/** Every instance of `scope`, a page at a time; the first page is read before the answer starts so an empty scope is a 404. */
async function instancePages(deps: ApiDeps, scope: InstanceScope, auth: Authenticated, withJson: boolean): Promise<AsyncGenerator<StoredDicomInstance>> {
  const first = await storedInstances(deps.store.db, scope, auth.scope, { after: '', limit: PAGE, withJson });
  if (!first.length) throw new ApiError(404, 'NOT_FOUND', 'no such study, series or instance at your sites');
  return (async function* () {
    let page = first;
    for (;;) {
      yield* page;
      if (page.length < PAGE) return;
      page = await storedInstances(deps.store.db, scope, auth.scope, { after: page[page.length - 1].sopInstanceUid, limit: PAGE, withJson });
    }
  })();
}

/** BulkDataURIs relative to the instance, made absolute (their values are served by the bulk route below). */
function absolute(dataset: DicomJsonDataset, instanceUrl: string): DicomJsonDataset {
  const out: DicomJsonDataset = {};
  for (const [tag, attribute] of Object.entries(dataset)) {
    if (attribute.BulkDataURI) out[tag] = { vr: attribute.vr, BulkDataURI: `${instanceUrl}/${attribute.BulkDataURI}` };
    else if (attribute.vr === 'SQ' && attribute.Value) out[tag] = { vr: 'SQ', Value: attribute.Value.map((item) => absolute(item as DicomJsonDataset, instanceUrl)) };
    else out[tag] = attribute;
  }
  return out;
}

/** What the row knows, when the object's own attributes cannot be read: its identity and its pixel module. */
function fromRow(instance: StoredDicomInstance): DicomJsonDataset {
  const image = instance.image;
  return {
    '00080016': { vr: 'UI', Value: [instance.sopClassUid] },
    '00080018': { vr: 'UI', Value: [instance.sopInstanceUid] },
    '0020000D': { vr: 'UI', Value: [instance.studyInstanceUid] },
    '0020000E': { vr: 'UI', Value: [instance.seriesInstanceUid] },
    ...(image && {
      '00280002': { vr: 'US', Value: [image.samplesPerPixel] },
      '00280008': { vr: 'IS', Value: [image.numberOfFrames] },
      '00280010': { vr: 'US', Value: [image.rows] },
      '00280011': { vr: 'US', Value: [image.columns] },
      '00281052': { vr: 'DS', Value: [image.rescaleIntercept] },
      '00281053': { vr: 'DS', Value: [image.rescaleSlope] },
      ...(image.windowCenter !== undefined && image.windowWidth !== undefined && {
        '00281050': { vr: 'DS', Value: [image.windowCenter] }, '00281051': { vr: 'DS', Value: [image.windowWidth] },
      }),
    }),
  };
}

export function wadoRoutes(deps: ApiDeps) {
  const app = new Hono();
  const db = deps.store.db;

  /** The instance's stored DICOM JSON; for rows stored before it was kept, computed from the blob once and kept. */
  async function attributesOf(instance: StoredDicomInstance): Promise<{ dataset: DicomJsonDataset; omitted: string[] }> {
    if (instance.dicomJson) return { dataset: instance.dicomJson, omitted: instance.omitted };
    const bytes = await deps.blobs.get(instance.blobSha256);
    try {
      const json = dicomJsonOf(bytes, instance.transferSyntaxUid, hasDicmPrefix(bytes));
      await keepDicomJson(db, instance.sopInstanceUid, json);
      return json;
    } catch (error) {
      if (error instanceof DicomError) return { dataset: fromRow(instance), omitted: [] };
      throw error;
    }
  }

  /** One instance's metadata as served: absolute BulkDataURIs, the served pixel module, its RetrieveURL. */
  async function metadataOf(c: Context, instance: StoredDicomInstance, omitted: Set<string>): Promise<DicomJsonDataset> {
    const url = `${dicomwebRoot(c)}/studies/${instance.studyInstanceUid}/series/${instance.seriesInstanceUid}/instances/${instance.sopInstanceUid}`;
    const attributes = await attributesOf(instance);
    for (const tag of attributes.omitted) omitted.add(tag);
    return {
      ...absolute(attributes.dataset, url),
      ...(instance.image && servedPixelModule(instance.image, instance.transferSyntaxUid)),
      '00081190': { vr: 'UR', Value: [url] },
    };
  }

  /** The metadata of every instance in scope as one JSON array, written a page at a time. */
  async function metadataAnswer(c: Context, scope: InstanceScope, auth: Authenticated): Promise<Response> {
    requireDicomJsonAccepted(c);
    const instances = await instancePages(deps, scope, auth, true);
    const omitted = new Set<string>();
    const first = await instances.next();
    const firstJson = JSON.stringify(await metadataOf(c, first.value as StoredDicomInstance, omitted));
    auditStudyRead(deps, auth, scope.study, 'view');
    const encoder = new TextEncoder();
    // A single instance's omissions are known before the answer starts, so they can be a header.
    const headers: Record<string, string> = { 'content-type': DICOM_JSON, 'cache-control': 'private, no-store' };
    if (omitted.size) headers.warning = warning(`Attributes over the ${'1 MiB'} metadata cap were left out: ${[...omitted].join(', ')}; retrieve the instance for them`);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode(`[${firstJson}`));
      },
      async pull(controller) {
        const next = await instances.next();
        if (next.done) {
          controller.enqueue(encoder.encode(']'));
          controller.close();
          return;
        }
        controller.enqueue(encoder.encode(`,${JSON.stringify(await metadataOf(c, next.value, omitted))}`));
      },
      async cancel() {
        await instances.return(undefined);
      },
    });
    return new Response(body, { status: 200, headers });
  }

  /**
   * The original bytes of every instance in scope. Accept must allow application/dicom in the
   * stored syntax (absent, `*`, or the syntax every instance here is stored in): Lantern does not transcode.
   */
  async function retrieveAnswer(c: Context, scope: InstanceScope, auth: Authenticated): Promise<Response> {
    const ranges = acceptedRanges(c.req.header('accept'));
    const wanted = ranges.length === 0 ? [{ type: '*/*', params: {} as Record<string, string> }] : ranges;
    const syntaxes = await storedTransferSyntaxes(db, scope, auth.scope);
    const fits = wanted.some((r) => {
      const type = r.type === 'multipart/related' ? (r.params.type ?? 'application/dicom').toLowerCase() : r.type;
      const syntax = r.params['transfer-syntax'];
      return ['application/dicom', '*/*', 'multipart/*', 'application/*'].includes(type) && (!syntax || syntax === '*' || syntaxes.every((s) => s === syntax));
    });
    if (syntaxes.length && !fits) {
      throw new ApiError(406, 'NOT_ACCEPTABLE',
        `Lantern sends instances only as received (it does not transcode); available: multipart/related; type="application/dicom"; transfer-syntax=${syntaxes.join(' or ')}`);
    }
    const instances = await instancePages(deps, scope, auth, false);
    auditStudyRead(deps, auth, scope.study, 'export');
    const root = dicomwebRoot(c);
    async function* parts(): AsyncGenerator<Part> {
      for await (const instance of instances) {
        yield {
          contentType: `application/dicom; transfer-syntax=${instance.transferSyntaxUid}`,
          contentLocation: `${root}/studies/${instance.studyInstanceUid}/series/${instance.seriesInstanceUid}/instances/${instance.sopInstanceUid}`,
          bytes: await deps.blobs.get(instance.blobSha256),
        };
      }
    }
    return multipartAnswer('application/dicom', parts());
  }

  const RETRIEVE_RESPONSE = {
    description: 'multipart/related; type="application/dicom": each instance as received, its transfer syntax on its part.',
    media: { type: 'multipart/related', schema: { type: 'string', contentMediaType: 'multipart/related' } },
  };
  const spec = <P extends z.ZodType>(path: string, operationId: string, summary: string, params: P, metadata: boolean): RouteSpec<P, undefined, undefined, typeof ACCESS.patientData> => ({
    method: 'get', path, operationId, access: ACCESS.patientData, tag: 'dicomweb', summary, params,
    responses: { 200: metadata ? DICOM_JSON_RESPONSE : RETRIEVE_RESPONSE },
    errors: metadata ? { 404: NOT_FOUND, 406: 'NOT_ACCEPTABLE: the Accept header allows no JSON (application/dicom+xml is not offered).', 503: AUDIT } : {
      404: NOT_FOUND, 503: AUDIT,
      406: 'NOT_ACCEPTABLE: a transfer syntax other than the stored one was asked for (Lantern does not transcode); the message names what is available.',
    },
  });
  const scopeOf = (p: { study: string; series?: string; instance?: string }): InstanceScope => ({ study: p.study, series: p.series, instance: p.instance });

  const study = '/dicomweb/studies/{study}';
  const series = `${study}/series/{series}`;
  const instance = `${series}/instances/{instance}`;
  mount(app, spec(`${study}/metadata`, 'retrieveStudyMetadata', 'WADO-RS study metadata', dicomwebStudyPath, true), (c, { params, auth }) => metadataAnswer(c, scopeOf(params), auth));
  mount(app, spec(`${series}/metadata`, 'retrieveSeriesMetadata', 'WADO-RS series metadata', dicomwebSeriesPath, true), (c, { params, auth }) => metadataAnswer(c, scopeOf(params), auth));
  mount(app, spec(`${instance}/metadata`, 'retrieveInstanceMetadata', 'WADO-RS instance metadata', dicomwebInstancePath, true), (c, { params, auth }) => metadataAnswer(c, scopeOf(params), auth));
  mount(app, spec(study, 'retrieveStudy', 'WADO-RS study: every instance as received', dicomwebStudyPath, false), (c, { params, auth }) => retrieveAnswer(c, scopeOf(params), auth));
  mount(app, spec(series, 'retrieveSeries', 'WADO-RS series: every instance as received', dicomwebSeriesPath, false), (c, { params, auth }) => retrieveAnswer(c, scopeOf(params), auth));
  mount(app, spec(instance, 'retrieveInstance', 'WADO-RS instance as received', dicomwebInstancePath, false), (c, { params, auth }) => retrieveAnswer(c, scopeOf(params), auth));

  mount(app, {
    ...spec(`${instance}/bulk/{path}`, 'retrieveBulkData', 'WADO-RS bulk data: the value a metadata BulkDataURI names', dicomwebInstancePath.extend({
      path: z.string().max(200).regex(/^[0-9A-Fa-f]{8}(\.\d{1,6}\.[0-9A-Fa-f]{8})*$/, 'a BulkDataURI path: a tag, or sequence.item.tag…'),
    }), false),
    responses: { 200: { description: 'multipart/related; type="application/octet-stream": the value\'s bytes as stored (fragments of encapsulated data joined).', media: RETRIEVE_RESPONSE.media } },
  }, async (c, { params, auth }) => {
    const [stored] = await instancePages(deps, scopeOf(params), auth, false).then((pages) => pages.next()).then((n) => [n.value as StoredDicomInstance]);
    const bytes = await deps.blobs.get(stored.blobSha256);
    let value: Uint8Array | undefined;
    try {
      value = bulkValueOf(bytes, stored.transferSyntaxUid, hasDicmPrefix(bytes), params.path);
    } catch (error) {
      if (!(error instanceof DicomError)) throw error;
    }
    if (!value) throw new ApiError(404, 'NOT_FOUND', `the instance holds no binary value at ${params.path}`);
    auditStudyRead(deps, auth, params.study, 'export');
    const url = new URL(c.req.url);
    return multipartAnswer('application/octet-stream', (async function* () {
      yield { contentType: `application/octet-stream; transfer-syntax=${stored.transferSyntaxUid}`, contentLocation: `${url.origin}${url.pathname}`, bytes: value };
    })());
  });
  return app;
}
