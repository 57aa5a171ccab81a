/**
 * STOW-RS as DICOMweb clients use it (PS3.18 §10.5), over real HTTP against the API role: the
 * Store Instances Response in DICOM JSON with 200 / 202 / 409, Lantern's JSON on request, the
 * multipart forms RFC 2046 allows, `POST /studies/{study}`, objects without pixels, and the
 * real `dicomweb-client` package (OHIF's) storing through it.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { api as dicomweb } from 'dicomweb-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeInstancesResponse, type StoreInstancesResponse } from '../../contract/dicomweb.ts';
import { parseDicom } from '../../dicom/parse.ts';
import { READ_ASSIST_QUEUE } from '../../queue/jobs.ts';
import { startTestApi, type TestApi } from '../../test/support/api-role.ts';
import { withFreshUids } from '../../test/support/dicom-builder.ts';
import { fetchXhr } from '../../test/support/fetch-xhr.ts';
import { files } from '../../test/support/shared-data.ts';

const COMPREHENSIVE_SR = '1.2.840.10008.5.1.4.1.1.88.33';
const film = fs.readFileSync(files.chestRaw);
const report = fs.readFileSync(files.report);

let n = 4_000;
/** A new study holding a copy of the chest film. */
const newFilm = () => withFreshUids(film, ++n);
/** A copy of the real SR (Comprehensive SR, no Pixel Data), as a new instance of `studyInstanceUid`. */
const reportIn = (studyInstanceUid: string) => withFreshUids(report, ++n, { studyInstanceUid });
const studyUidOf = (bytes: Uint8Array) => parseDicom(bytes).meta.studyInstanceUid;

/** A multipart/related body written by hand: `parts` joined by the boundary, with `before` and `after` around them. */
function multipart(parts: Uint8Array[], options: { boundary?: string; before?: string; after?: string; headers?: string } = {}): Buffer {
  const boundary = options.boundary ?? 'lantern-test-boundary';
  const chunks: Buffer[] = [Buffer.from(options.before ?? '')];
  for (const [i, part] of parts.entries()) {
    chunks.push(Buffer.from(`${i === 0 && !options.before ? '' : '\r\n'}--${boundary}\r\n${options.headers ?? 'Content-Type: application/dicom\r\n'}\r\n`), Buffer.from(part));
  }
  chunks.push(Buffer.from(`\r\n--${boundary}--${options.after ?? ''}`));
  return Buffer.concat(chunks);
}

describe('STOW-RS', () => {
  let api: TestApi;
  const post = (path: string, body: Uint8Array, contentType: string, accept?: string) => fetch(`${api.url}${path}`, {
    method: 'POST', body: body as BodyInit, headers: { ...api.authorization, 'content-type': contentType, ...(accept && { accept }) },
  });
  const dicomJson = async (response: Response) => {
    expect(response.headers.get('content-type')).toBe('application/dicom+json');
    return storeInstancesResponse.parse(await response.json());
  };
  /** Every file under the blob folder (temporary ones too), by name. */
  const blobFiles = () => fs.readdirSync(api.config.blobDir, { recursive: true, encoding: 'utf8' })
    .filter((name) => fs.statSync(path.join(api.config.blobDir, name)).isFile()).map((name) => path.basename(name));
  const studyOf = (uid: string) => api.client.json<{ study: { status: string; priority: number; modality?: string }; instances: { sopInstanceUid: string; status: string; image?: unknown; modality?: string }[] }>(`/v1/studies/${uid}`);

  beforeAll(async () => {
    api = await startTestApi();
  }, 120_000);
  afterAll(() => api?.stop());

  describe('the answer (PS3.18 Annex I, DICOM JSON)', () => {
    it('when every part is stored, then 200 with a Referenced SOP Sequence item per instance, each with its class, UID and Retrieve URL, and no Failed SOP Sequence', async () => {
      const study = (await api.client.stow([newFilm()])).body.stored![0];
      const sr = reportIn(study.studyInstanceUid);
      const response = await post('/dicomweb/studies', multipart([sr]), 'multipart/related; type="application/dicom"; boundary=lantern-test-boundary');
      expect(response.status).toBe(200);
      const answer = await dicomJson(response);
      expect(answer['00081198']).toBeUndefined();
      const [item] = answer['00081199']!.Value!;
      expect(item['00081150'].Value).toEqual([COMPREHENSIVE_SR]);
      const sop = item['00081155'].Value![0];
      expect(item['00081190'].Value![0]).toMatch(new RegExp(`/dicomweb/studies/${study.studyInstanceUid}/series/[0-9.]+/instances/${sop}$`));
      expect(answer['00081190'].Value).toEqual([`${api.url}/dicomweb/studies/${study.studyInstanceUid}`]);
    });

    it('when some parts are refused, then 202: the stored ones referenced, each refused one with its Failure Reason and Lantern\'s code, message and part in the private block', async () => {
      const truncated = fs.readFileSync(files.truncated);
      const response = await post('/dicomweb/studies', multipart([newFilm(), truncated]), 'multipart/related; type="application/dicom"; boundary=lantern-test-boundary');
      expect(response.status).toBe(202);
      const answer = await dicomJson(response);
      expect(answer['00081199']!.Value).toHaveLength(1);
      const [failed] = answer['00081198']!.Value!;
      expect(failed['00081197'].Value).toEqual([0xc000]);
      expect(failed['00090010'].Value).toEqual(['LANTERN 1.0']);
      expect(failed['00091001'].Value).toEqual(['TRUNCATED_DICOM']);
      expect(failed['00091002'].Value![0]).toMatch(/Truncated DICOM/);
      expect(failed['00091003'].Value).toEqual([1]);
      // Nothing of the truncated file is known, so no SOP reference is invented for it.
      expect(failed['00081155']).toBeUndefined();
    });

    it('when no part is stored, then 409 with every refusal; asked for application/json, the same 409 as Lantern\'s error naming each part', async () => {
      const bad = [new Uint8Array(Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex')), fs.readFileSync(files.truncated)];
      const response = await post('/dicomweb/studies', multipart(bad), 'multipart/related; type="application/dicom"; boundary=lantern-test-boundary');
      expect(response.status).toBe(409);
      const answer = await dicomJson(response);
      expect(answer['00081199']).toBeUndefined();
      expect(answer['00081198']!.Value!.map((f) => [f['00091003'].Value![0], f['00091001'].Value![0], f['00081197'].Value![0]]))
        .toEqual([[0, 'INVALID_DICOM', 0xc000], [1, 'TRUNCATED_DICOM', 0xc000]]);
      expect(answer['00081190']).toEqual({ vr: 'UR' });

      const asJson = await post('/dicomweb/studies', multipart(bad), 'multipart/related; type="application/dicom"; boundary=lantern-test-boundary', 'application/json');
      expect(asJson.status).toBe(409);
      const { error } = await asJson.json() as { error: { code: string; details: { part: number; code: string }[] } };
      expect(error.code).toBe('INVALID_DICOM');
      expect(error.details.map((d) => [d.part, d.code])).toEqual([[0, 'INVALID_DICOM'], [1, 'TRUNCATED_DICOM']]);
    });

    it('when the client accepts only application/json, then Lantern\'s { stored, failed }; when it accepts neither JSON, then 406 and nothing is stored', async () => {
      const image = newFilm();
      const asJson = await post('/dicomweb/studies', image, 'application/dicom', 'application/json');
      expect(asJson.status).toBe(200);
      const { stored, failed } = await asJson.json() as { stored: { studyInstanceUid: string; sopClassUid: string; status: string }[]; failed: unknown[] };
      expect(stored.map((s) => s.status)).toEqual(['stored']);
      expect(failed).toEqual([]);

      const other = newFilm();
      const refused = await post('/dicomweb/studies', other, 'application/dicom', 'application/dicom+xml');
      expect(refused.status).toBe(406);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('NOT_ACCEPTABLE');
      // Sent again, it is new: the refused request stored nothing.
      const again = await post('/dicomweb/studies', other, 'application/dicom', 'application/json');
      expect(((await again.json()) as { stored: { status: string }[] }).stored[0].status).toBe('stored');
    });

    it('then the OpenAPI document declares both answers for 200, 202 and 409', async () => {
      const document = await (await fetch(`${api.url}/openapi.json`)).json() as { paths: Record<string, { post: { responses: Record<string, { content: Record<string, unknown> }> } }> };
      for (const path of ['/dicomweb/studies', '/dicomweb/studies/{study}']) {
        for (const status of ['200', '202', '409']) {
          expect(Object.keys(document.paths[path].post.responses[status].content).sort()).toEqual(['application/dicom+json', 'application/json']);
        }
      }
    });
  });

  describe('multipart as RFC 2046 allows it', () => {
    const boundary = 'lantern-test-boundary';
    it.each([
      ['a CRLF before the first boundary (as dicomweb-client sends)', { before: '\r\n' }, `multipart/related; type="application/dicom"; boundary=${boundary}`],
      ['a preamble', { before: 'This is a preamble a MIME mailer might write.\r\n' }, `multipart/related; type="application/dicom"; boundary=${boundary}`],
      ['an epilogue', { after: '\r\nand an epilogue after the close delimiter\r\n' }, `multipart/related; type="application/dicom"; boundary=${boundary}`],
      ['a quoted boundary and an unquoted type', {}, `multipart/related; type=application/dicom; boundary="${boundary}"`],
      ['no type parameter', {}, `Multipart/Related; boundary=${boundary}`],
      ['a type naming a transfer syntax', {}, `multipart/related; type="application/dicom; transfer-syntax=1.2.840.10008.1.2"; boundary=${boundary}`],
      ['parts with Content-Location', { headers: 'Content-Type: application/dicom\r\nContent-Location: film.dcm\r\n' }, `multipart/related; type="application/dicom"; boundary=${boundary}`],
      ['parts without a Content-Type', { headers: 'Content-Location: film.dcm\r\n' }, `multipart/related; type="application/dicom"; boundary=${boundary}`],
    ])('when the body has %s, then the film is stored', async (_, options, contentType) => {
      const response = await post('/dicomweb/studies', multipart([newFilm()], options), contentType);
      expect(response.status).toBe(200);
      expect((await dicomJson(response))['00081199']!.Value).toHaveLength(1);
    });

    it('when a part is of another type, or the body holds no boundary, then the request is refused (415, 400) and nothing is stored', async () => {
      const image = newFilm();
      const wrongPart = await post('/dicomweb/studies', multipart([image], { headers: 'Content-Type: application/dicom+json\r\n' }), `multipart/related; type="application/dicom"; boundary=${boundary}`);
      expect(wrongPart.status).toBe(415);
      const noBoundary = await post('/dicomweb/studies', Buffer.concat([Buffer.from('no boundary here\r\n'), image]), `multipart/related; type="application/dicom"; boundary=${boundary}`);
      expect(noBoundary.status).toBe(400);
      expect(((await noBoundary.json()) as { error: { code: string } }).error.code).toBe('MALFORMED_MULTIPART');
      // Sent again, it is new: the refused requests stored nothing.
      const again = await post('/dicomweb/studies', image, 'application/dicom', 'application/json');
      expect(((await again.json()) as { stored: { status: string }[] }).stored[0].status).toBe('stored');
    });
  });

  it('when requests are refused before, while or after their body is read (406, 415 part, 400 no boundary, 409), then the client\'s next requests on its connections still go through', async () => {
    const boundary = 'lantern-test-boundary';
    const contentType = `multipart/related; type="application/dicom"; boundary=${boundary}`;
    const refusals: [number, () => Promise<Response>][] = [
      [406, () => post('/dicomweb/studies', newFilm(), 'application/dicom', 'application/dicom+xml')],
      [415, () => post('/dicomweb/studies', multipart([newFilm()], { headers: 'Content-Type: application/dicom+json\r\n' }), contentType)],
      [400, () => post('/dicomweb/studies', Buffer.concat([Buffer.from('no boundary here\r\n'), newFilm()]), contentType)],
      [409, () => post('/dicomweb/studies', multipart([fs.readFileSync(files.truncated)]), contentType)],
    ];
    for (const [status, refused] of refusals) {
      expect((await refused()).status).toBe(status);
      for (let i = 0; i < 2; i++) expect((await post('/dicomweb/studies', newFilm(), 'application/dicom')).status).toBe(200);
    }
  });

  describe('POST /dicomweb/studies/{study}', () => {
    it('when one instance belongs to the study addressed and one does not, then 202: the first stored, the other refused with 0xC409 naming its SOP Instance, and not stored', async () => {
      const target = (await api.client.stow([newFilm()])).body.stored![0].studyInstanceUid;
      const inside = reportIn(target);
      const elsewhere = newFilm();
      const response = await post(`/dicomweb/studies/${target}`, multipart([inside, elsewhere]), 'multipart/related; type="application/dicom"; boundary=lantern-test-boundary');
      expect(response.status).toBe(202);
      const answer = await dicomJson(response);
      expect(answer['00081190'].Value).toEqual([`${api.url}/dicomweb/studies/${target}`]);
      expect(answer['00081199']!.Value!.map((i) => i['00081150'].Value![0])).toEqual([COMPREHENSIVE_SR]);
      const [failed] = answer['00081198']!.Value!;
      expect(failed['00081197'].Value).toEqual([0xc409]);
      expect(failed['00091001'].Value).toEqual(['STUDY_INSTANCE_UID_MISMATCH']);
      expect(failed['00081150']?.Value).toEqual(['1.2.840.10008.5.1.4.1.1.1']);
      const stray = failed['00091002'].Value![0].match(/belongs to study ([0-9.]+)/)![1];
      expect((await studyOf(stray)).status).toBe(404);
    });

    it('when parts are refused after their bytes began to be stored (another study, not DICOM), then they leave no blob, not even a temporary one; the held part\'s blob is named', async () => {
      const target = (await api.client.stow([newFilm()])).body.stored![0].studyInstanceUid;
      const inside = reportIn(target);
      const elsewhere = newFilm();
      const notDicom = new Uint8Array(4096).fill(0x41);
      const response = await post(`/dicomweb/studies/${target}`, multipart([elsewhere, inside, notDicom]), 'multipart/related; type="application/dicom"; boundary=lantern-test-boundary');
      expect(response.status).toBe(202);
      // By name (a temporary file's starts with the hash too): other blobs (AI results SRs) may be written meanwhile.
      const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
      const named = (bytes: Uint8Array) => blobFiles().filter((name) => name.startsWith(sha256(bytes)));
      expect(named(elsewhere)).toEqual([]);
      expect(named(notDicom)).toEqual([]);
      expect(named(inside)).toEqual([sha256(inside)]);
    });

    it('when the path holds no UID, then 422 before the body is read', async () => {
      const response = await post('/dicomweb/studies/not-a-uid', newFilm(), 'application/dicom');
      expect(response.status).toBe(422);
    });
  });

  it('when films are uploaded, then the filing and consent statement is sent once for each, while the thread reads its DICOM JSON, and ingest takes that answer', async () => {
    const store = api.store;
    const questions: unknown[][] = [];
    const ask = store.filingAndConsent;
    store.filingAndConsent = (...question) => {
      questions.push(question);
      return ask(...question);
    };
    try {
      const films = [newFilm(), newFilm()];
      const response = await post('/dicomweb/studies', multipart(films), 'multipart/related; type="application/dicom"; boundary=lantern-test-boundary', 'application/json');
      expect(response.status).toBe(200);
      expect(questions.map(([study]) => study)).toEqual(films.map(studyUidOf));
    } finally {
      store.filingAndConsent = ask;
    }
  });

  describe('objects without pixels (SR)', () => {
    it.each([
      ['a Basic Text SR', files.noPixelData, '1.2.840.10008.5.1.4.1.1.88.11'],
      ['a Comprehensive SR', files.report, COMPREHENSIVE_SR],
    ])('when %s is sent alone, then it is stored (never refused for lack of pixels) and listed with no image', async (_, file, sopClass) => {
      const { status, body } = await api.client.stow([withFreshUids(fs.readFileSync(file), ++n)]);
      expect(status).toBe(200);
      expect(body.stored![0].sopClassUid).toBe(sopClass);
      const { instances } = (await studyOf(body.stored![0].studyInstanceUid)).body;
      expect(instances).toEqual([expect.objectContaining({ sopInstanceUid: body.stored![0].sopInstanceUid, status: 'done', modality: 'SR' })]);
      expect(instances[0].image).toBeUndefined();
    });

    it('when an SR arrives with a film of its study, then both are stored and listed, the SR with no image and nothing queued, and the study\'s status, priority and modality are the film\'s', async () => {
      const filmBytes = newFilm();
      const filmAnswer = (await api.client.stow([filmBytes])).body.stored![0];
      // The film records no age: the children's model is answered at ingest and its AI results SR stored in the study.
      const aiSrs = await api.answeredAtIngest(filmAnswer.sopInstanceUid);
      expect(aiSrs).toHaveLength(1);
      const before = (await studyOf(filmAnswer.studyInstanceUid)).body.study;
      const sr = reportIn(filmAnswer.studyInstanceUid);
      const { status, body } = await api.client.stow([sr]);
      expect(status).toBe(200);
      const srSop = body.stored![0].sopInstanceUid;
      expect(body.stored![0].sopClassUid).toBe(COMPREHENSIVE_SR);

      const after = (await studyOf(filmAnswer.studyInstanceUid)).body;
      expect(after.instances.map((i) => i.sopInstanceUid).sort()).toEqual([filmAnswer.sopInstanceUid, srSop, ...aiSrs].sort());
      expect(after.instances.filter((i) => i.image !== undefined).map((i) => i.sopInstanceUid)).toEqual([filmAnswer.sopInstanceUid]);
      const listed = after.instances.find((i) => i.sopInstanceUid === srSop)!;
      expect(listed).toMatchObject({ status: 'done', modality: 'SR' });
      expect(listed.image).toBeUndefined();
      expect({ status: after.study.status, priority: after.study.priority, modality: after.study.modality })
        .toEqual({ status: before.status, priority: before.priority, modality: 'CR' });

      const jobs = new Queue(READ_ASSIST_QUEUE, { connection: { url: api.config.redisUrl }, prefix: api.config.queuePrefix });
      try {
        const queued = (await jobs.getJobs(['waiting', 'prioritized', 'active', 'delayed'])).map((job) => job.data.sopInstanceUid);
        expect(queued).toContain(filmAnswer.sopInstanceUid);
        expect(queued).not.toContain(srSop);
      } finally {
        await jobs.close();
      }
    });

    it('when a study\'s SR arrives before its film, then the study takes the film\'s modality; a study of an SR alone names none and waits for no AI', async () => {
      const filmBytes = newFilm();
      const studyUid = studyUidOf(filmBytes);
      const { body } = await api.client.stow([reportIn(studyUid), filmBytes]);
      expect(body.stored!.map((s) => s.sopClassUid)).toEqual([COMPREHENSIVE_SR, '1.2.840.10008.5.1.4.1.1.1']);
      expect((await studyOf(studyUid)).body.study).toMatchObject({ modality: 'CR', status: 'pending' });

      const alone = studyUidOf(newFilm());
      expect((await api.client.stow([reportIn(alone)])).status).toBe(200);
      const { study } = (await studyOf(alone)).body;
      expect(study.modality).toBeUndefined();
      expect(study.status).not.toBe('pending');
    });
  });

  describe('the dicomweb-client package (OHIF\'s DICOMweb client)', () => {
    const client = () => new dicomweb.DICOMwebClient({ url: `${api.url}/dicomweb`, headers: api.authorization, singlepart: false });

    it('when it stores a film and its SR with storeInstances, then both are stored and its answer is the DICOM JSON response', async () => {
      const image = newFilm();
      const first = (await api.client.stow([image])).body.stored![0];
      const studyUid = first.studyInstanceUid;
      const datasets = [withFreshUids(film, ++n, { studyInstanceUid: studyUid }), reportIn(studyUid)]
        .map((bytes) => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
      const answer = JSON.parse(await client().storeInstances({ datasets, request: { instance: fetchXhr() } }) as string) as StoreInstancesResponse;
      const stored = answer['00081199']!.Value!;
      expect(stored.map((i) => i['00081150'].Value![0]).sort()).toEqual(['1.2.840.10008.5.1.4.1.1.1', COMPREHENSIVE_SR]);
      const sopOf = (sopClass: string) => stored.find((i) => i['00081150'].Value![0] === sopClass)!['00081155'].Value![0];
      // Both films record no age: the children's model is answered at ingest on each, and its AI results SR stored.
      const filmSops = [first.sopInstanceUid, sopOf('1.2.840.10008.5.1.4.1.1.1')];
      const aiSrs = (await Promise.all(filmSops.map((sop) => api.answeredAtIngest(sop)))).flat();
      expect(aiSrs).toHaveLength(2);
      const { instances } = (await studyOf(studyUid)).body;
      expect(instances.map((i) => i.sopInstanceUid).sort()).toEqual([...filmSops, sopOf(COMPREHENSIVE_SR), ...aiSrs].sort());
      expect(instances.filter((i) => i.image !== undefined).map((i) => i.sopInstanceUid).sort()).toEqual([...filmSops].sort());
    });

    it('when it stores into a named study an instance of another, then the call fails with 409 and nothing is stored', async () => {
      const targetFilm = (await api.client.stow([newFilm()])).body.stored![0];
      const target = targetFilm.studyInstanceUid;
      const aiSrs = await api.answeredAtIngest(targetFilm.sopInstanceUid);
      const other = newFilm();
      const datasets = [other.buffer.slice(other.byteOffset, other.byteOffset + other.byteLength) as ArrayBuffer];
      const failure = await client().storeInstances({ datasets, studyInstanceUID: target, request: { instance: fetchXhr() } }).then(() => undefined, (error: { status: number; response: string }) => error);
      expect(failure?.status).toBe(409);
      const [failed] = (JSON.parse(failure!.response) as StoreInstancesResponse)['00081198']!.Value!;
      expect(failed['00081197'].Value).toEqual([0xc409]);
      // The study holds what it held: its film and the AI results SR of the model answered at ingest.
      expect((await studyOf(target)).body.instances.map((i) => i.sopInstanceUid).sort()).toEqual([targetFilm.sopInstanceUid, ...aiSrs].sort());
    });
  });
});
