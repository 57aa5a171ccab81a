/**
 * AI results SR in the study, against a real redis-server, PGlite, a real chest film in the
 * blob store and a real Orthanc as the hospital's archive: a model's findings, persisted by
 * the results consumer, become a preliminary SR instance of the study (audited as the
 * model, never queued for AI, the study's priority untouched, written once however often the
 * result comes); a clinician's review becomes a verified SR naming the preliminary one as
 * its predecessor (audited as the clinician); each is pushed over STOW-RS to Orthanc, which
 * lists the SR series, or by C-STORE to another Orthanc; an unreachable destination is
 * retried, and one that takes the connection and never answers holds no SR's writing up.
 */
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readableDicomJson } from '../dicom/dicom-json.ts';
import { parseDicom } from '../dicom/parse.ts';
import { decisionSr, decisionSrUid, findingsSr, findingsSrUid } from '../dicom/sr/ai-results-sr.ts';
import { COPIED_TAGS, sourceImage, storedSourceImage } from '../dicom/sr/source-attributes.ts';
import { AI_RESULTS_PUSH_QUEUE, AI_RESULTS_SR_QUEUE, aiResultsSrJobId, type AiResultsPushJob } from '../queue/ai-results-sr.ts';
import { RESULTS_QUEUE, type ResultJob } from '../queue/jobs.ts';
import { freePort, startPrivateRedis, type PrivateRedis } from '../queue/redis-server.ts';
import { createBlobStore } from '../store/blobs.ts';
import { openDatabase } from '../store/db.ts';
import { migrate } from '../store/migrate.ts';
import { ALL_SITES, createStore, type Store } from '../store/store.ts';
import { finding, newInstance, notApplicableFinding } from '../store/test-fixtures.ts';
import { startOrthanc, type Orthanc } from '../test/support/orthanc.ts';
import { files, sharedData } from '../test/support/shared-data.ts';
import { waitFor } from '../test/support/stack.ts';
import { createAiResultsSr } from './ai-results-sr.ts';
import { createInstanceWrites } from './instance-writes.ts';
import { createResultsConsumer } from './results-consumer.ts';
import { resultsPush } from './results-push.ts';

const prefix = 'ai-results-sr-test';

describe('AI results as DICOM SR, stored in the study and pushed', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-ai-sr-'));
  const blobs = createBlobStore(path.join(dir, 'blobs'));
  let redis: PrivateRedis;
  let store: Store;
  let orthanc: Orthanc;
  let aiResultsSr: ReturnType<typeof createAiResultsSr>;
  let consumer: ReturnType<typeof createResultsConsumer>;
  let results: Queue<ResultJob>;
  const chest = new Uint8Array(fs.readFileSync(files.chestJ2k));
  const { meta } = parseDicom(chest);
  const model = finding(meta.sopInstanceUid).model;
  const srUid = findingsSrUid(meta.sopInstanceUid, model);

  const instanceRow = (sop: string) => store.db.query<{ modality: string; status: string; pending_models: string[]; blob_sha256: string; series_instance_uid: string; dicom_json: unknown }>(
    'select modality, status, pending_models, blob_sha256, series_instance_uid, dicom_json from instances where sop_instance_uid = $1', [sop]).then((r) => r.rows[0]);
  const stored = (sop: string) => waitFor(() => instanceRow(sop), `SR ${sop} to be stored`, 30_000);
  const auditOf = (sop: string) => store.db.query<{ actor: string; action: string }>('select actor, action from audit where entity_id = $1 order by seq', [sop]).then((r) => r.rows);
  const dsrdump = (bytes: Uint8Array) => {
    const file = path.join(dir, `${Math.random().toString(36).slice(2)}.dcm`);
    fs.writeFileSync(file, bytes);
    return spawnSync('dsrdump', ['+Pc', file], { encoding: 'utf8' });
  };

  /** A film recorded as ingest records it (pipeline/ingest.ts): identity and size from Lantern's parser, and its DICOM JSON; its blob stored only if asked. */
  const recordAsIngested = async (bytes: Uint8Array, { blob }: { blob: boolean }) => {
    const { meta, transferSyntaxUid, hasPart10Header } = parseDicom(bytes);
    await store.recordInstance(newInstance({
      study: { studyInstanceUid: meta.studyInstanceUid, patientName: meta.patientName, modality: meta.image ? meta.modality : undefined },
      seriesInstanceUid: meta.seriesInstanceUid, sopInstanceUid: meta.sopInstanceUid, sopClassUid: meta.sopClassUid, transferSyntaxUid, modality: meta.modality,
      blobSha256: blob ? await blobs.put(bytes) : createHash('sha256').update(bytes).digest('hex'), byteSize: bytes.byteLength, image: meta.image, pendingModels: [],
      dicomJson: readableDicomJson(bytes, transferSyntaxUid, hasPart10Header) ?? undefined,
    }), 'test');
    return meta;
  };
  /** The chest film as another study (dcmtk's dcmodify, new UIDs), with `changes` (dcmodify's `-m` arguments). */
  const chestAsAnotherStudy = (...changes: string[]) => {
    const file = path.join(dir, `${randomUUID()}.dcm`);
    fs.writeFileSync(file, chest);
    execFileSync('dcmodify', ['-nb', '-gst', '-gse', '-gin', ...changes.flatMap((change) => ['-m', change]), file]);
    return new Uint8Array(fs.readFileSync(file));
  };
  /** A film of another study with a finding of the test's model, recorded as ingest records it; its SOP Instance UID. */
  const filmWithFinding = async () => {
    const { sopInstanceUid } = await recordAsIngested(chestAsAnotherStudy(), { blob: false });
    await store.recordFindings(sopInstanceUid, [finding(sopInstanceUid, 0.7)], 'model:test');
    return sopInstanceUid;
  };
  /** An archive that takes connections and never answers: each push to it waits out its 30 s (results-push.ts). */
  const silentArchive = async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((socket) => { sockets.push(socket); });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    return {
      sockets,
      push: resultsPush({ kind: 'dicomweb', url: `http://127.0.0.1:${port}/dicom-web` }),
      close: () => {
        sockets.forEach((s) => s.destroy());
        server.close();
      },
    };
  };

  beforeAll(async () => {
    redis = await startPrivateRedis(path.join(dir, 'redis'));
    const db = await openDatabase({ pgliteDir: 'memory://' });
    await migrate(db);
    store = createStore(db, { prioritise: (snapshot) => ({ priority: snapshot.findings.some((f) => f.positive) ? 70 : 10, why: 'test', whyZh: '测试' }) });
    orthanc = await startOrthanc();
    aiResultsSr = createAiResultsSr({ redisUrl: redis.url, prefix, store, blobs, push: resultsPush({ kind: 'dicomweb', url: `${orthanc.url}/dicom-web` }) });
    consumer = createResultsConsumer({ redisUrl: redis.url, prefix, store, instanceWrites: createInstanceWrites(), onFindings: aiResultsSr.afterFindings });
    results = new Queue<ResultJob>(RESULTS_QUEUE, { connection: { url: redis.url }, prefix });
    // The real film, stored as ingest stores it, waiting for one model.
    await store.recordInstance(newInstance({
      study: { studyInstanceUid: meta.studyInstanceUid, patientName: meta.patientName, modality: 'CR' },
      seriesInstanceUid: meta.seriesInstanceUid, sopInstanceUid: meta.sopInstanceUid, sopClassUid: meta.sopClassUid,
      blobSha256: await blobs.put(chest), byteSize: chest.byteLength, image: meta.image, pendingModels: [`${model.id}@${model.version}`],
    }), 'test');
  }, 60_000);
  afterAll(async () => {
    await results?.close();
    await consumer?.stop();
    await aiResultsSr?.stop();
    await orthanc?.stop();
    await store?.close();
    await redis?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when a model\'s findings are persisted, then a preliminary SR is stored in the study as a non-image instance, audited as the model, queued for nothing, and the study keeps its priority', async () => {
    const result: ResultJob = { kind: 'findings', sopInstanceUid: meta.sopInstanceUid, modelKey: `${model.id}@${model.version}`, findings: [finding(meta.sopInstanceUid, 0.9)] };
    await results.add('findings', result, { jobId: 'first-run' });
    const row = await stored(srUid);
    expect(row).toMatchObject({ modality: 'SR', status: 'done', pending_models: [] });
    expect(row.dicom_json).toMatchObject({ '00080016': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.88.33'] } });
    expect(await auditOf(srUid)).toEqual([{ actor: `model:${model.id}@${model.version}`, action: 'instance.received' }]);
    const study = (await store.getStudy(meta.studyInstanceUid, ALL_SITES)).study;
    expect(study.priority).toBe(70);
    expect(study.modality).toBe('CR');
    const dump = dsrdump(await blobs.get(row.blob_sha256));
    expect(dump.status, dump.stderr).toBe(0);
    expect(dump.stdout).toMatch(/Preliminary Flag +: PRELIMINARY/);
    expect(dump.stdout).toContain('<contains CODE:(705057003,SCT,"Presence")=(52101004,SCT,"Present")>');

    // The worker hands the same result back again (BullMQ ran its job twice): the same SR, stored once.
    await results.add('findings', result, { jobId: 'second-run' });
    await waitFor(async () => ((await results.getJob('second-run'))?.finishedOn ? true : undefined), 'the second result to be persisted');
    const sr = new Queue(AI_RESULTS_SR_QUEUE, { connection: { url: redis.url }, prefix });
    await waitFor(async () => ((await sr.getJobCounts('waiting', 'active', 'delayed')).waiting === 0 ? true : undefined), 'SR jobs to settle');
    await sr.close();
    const { rows } = await store.db.query<{ n: number }>('select count(*)::int as n from instances where study_instance_uid = $1', [meta.studyInstanceUid]);
    expect(rows[0].n).toBe(2);
    expect(await auditOf(srUid)).toHaveLength(1);
  });

  it('when a clinician overrides the finding, then a verified SR records it, names the preliminary SR as predecessor, and is audited as the clinician — written before afterReview returns', async () => {
    const review = await store.recordReview(finding(meta.sopInstanceUid).id, { decision: 'override', reasonCode: 'false-positive', comment: 'old scar', reviewer: 'dr.li' }, ALL_SITES);
    await aiResultsSr.afterReview(review.id);
    const uid = decisionSrUid(review.id);
    const row = (await instanceRow(uid))!;
    expect(row.modality).toBe('SR');
    expect(await auditOf(uid)).toEqual([{ actor: 'dr.li', action: 'instance.received' }]);
    const dump = dsrdump(await blobs.get(row.blob_sha256));
    expect(dump.status, dump.stderr).toBe(0);
    expect(dump.stdout).toMatch(/Completion Flag +: COMPLETE\n.*Predecessor Docs +: 1\n.*Verification Flag +: VERIFIED/);
    expect(dump.stdout).toContain('<contains CODE:(decision,99LANTERN,"Clinician decision on AI finding")=(overridden,99LANTERN,"Overridden by clinician")>');
    expect(dump.stdout).toContain('(false-positive,99LANTERN,"False positive: the finding is not present")');
    // The predecessor named is the preliminary SR stored above.
    expect(Buffer.from(await blobs.get(row.blob_sha256)).includes(srUid)).toBe(true);
  });

  it('when a destination is configured, then Orthanc receives both SRs and lists them in the AI results series of the study', async () => {
    const review = (await store.getStudy(meta.studyInstanceUid, ALL_SITES)).findings[0].review!;
    const sops = [srUid, decisionSrUid(review.id)];
    const series = await waitFor(async () => {
      const listed = await fetch(`${orthanc.url}/dicom-web/studies/${meta.studyInstanceUid}/instances`).then((r) => (r.ok ? r.json() as Promise<Record<string, { Value: string[] }>[]> : []));
      const uids = listed.map((i) => i['00080018'].Value[0]);
      return sops.every((s) => uids.includes(s)) ? listed : undefined;
    }, 'Orthanc to list both SRs', 30_000);
    const srs = series.filter((i) => sops.includes(i['00080018'].Value[0]));
    expect(srs.map((i) => i['00080060']?.Value[0])).toEqual(['SR', 'SR']);
    expect(new Set(srs.map((i) => i['0020000E'].Value[0])).size).toBe(1);
    // Orthanc lists an SR once it has answered the push, a moment before BullMQ marks the push's job finished.
    const pushes = await waitFor(async () => {
      const finished = await aiResultsSr.pushQueue.getJobs(['completed', 'failed', 'delayed']);
      return finished.length >= sops.length ? finished : undefined;
    }, 'both pushes to finish', 10_000);
    expect(pushes.map((j) => [j.finishedOn !== undefined && !j.failedReason, j.attemptsMade])).toEqual([[true, 1], [true, 1]]);
    const seriesList = await orthanc.rest<Record<string, { Value: string[] }>[]>('GET', `/dicom-web/studies/${meta.studyInstanceUid}/series`);
    expect(seriesList.map((s) => s['0008103E']?.Value[0])).toContain('Lantern AI results (AI-assisted, not a diagnosis)');
  });

  it('when a review\'s request never reached Redis (the API stopped first), then reconciliation writes its SR, after the one it amends', async () => {
    const first = (await store.getStudy(meta.studyInstanceUid, ALL_SITES)).findings[0].review!;
    const amended = await store.recordReview(finding(meta.sopInstanceUid).id, { decision: 'accept', reviewer: 'dr.wang' }, ALL_SITES);
    expect(await instanceRow(decisionSrUid(amended.id))).toBeUndefined();
    expect(await aiResultsSr.reconcile()).toBe(1);
    const row = await stored(decisionSrUid(amended.id));
    const bytes = Buffer.from(await blobs.get(row.blob_sha256));
    expect(bytes.includes(decisionSrUid(first.id))).toBe(true);
    const dump = dsrdump(bytes);
    expect(dump.stdout).toContain('=(accepted,99LANTERN,"Accepted by clinician")>');
    expect(dump.stdout).not.toContain('Overridden by clinician');
    // The review already written is not written again.
    expect(await auditOf(decisionSrUid(first.id))).toHaveLength(1);
  });

  it('when a process stopped between recording findings answered at ingest and queueing their SR, then reconciliation queues it under the id afterFindings uses and it is written — and nothing for findings whose SR is stored, or for shadow findings', async () => {
    const modelKey = `${model.id}@${model.version}`;
    // Answered at ingest from the header (not applicable), committed; the process stopped before afterFindings.
    const { sopInstanceUid: lost } = await recordAsIngested(chestAsAnotherStudy(), { blob: false });
    await store.recordFindings(lost, [notApplicableFinding(lost, { code: 'OUTSIDE_POPULATION_AGE', text: 'patient age 64 y outside 1–5 y', textZh: '患者年龄 64 岁 不在 1–5 岁之内' })], `model:${modelKey}`);
    // Findings whose SR was written (by an API process with its own queue, so this one holds no job for it).
    const written = await filmWithFinding();
    const elsewhere = createAiResultsSr({ redisUrl: redis.url, prefix: `${prefix}-elsewhere`, store, blobs });
    try {
      await elsewhere.afterFindings(written, modelKey);
      await stored(findingsSrUid(written, model));
    } finally {
      await elsewhere.stop();
    }
    // A shadow run's findings: kept for model teams, never a document.
    const { sopInstanceUid: shadowed } = await recordAsIngested(chestAsAnotherStudy(), { blob: false });
    const shadowModel = { ...model, version: '2.0.0-shadow' };
    await store.recordShadowFindings(shadowed, [{ ...finding(shadowed, 0.9), id: `s-${shadowed}`, model: shadowModel }], `model:${shadowModel.id}@${shadowModel.version}`);

    const jobsOf = async (sop: string) => (await aiResultsSr.queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed'])).filter((j) => j.data.kind === 'findings' && j.data.sopInstanceUid === sop);
    expect(await jobsOf(lost)).toEqual([]);
    expect(await aiResultsSr.reconcile()).toBe(1);
    const row = await stored(findingsSrUid(lost, model));
    expect(row.modality).toBe('SR');
    expect(await auditOf(findingsSrUid(lost, model))).toEqual([{ actor: `model:${modelKey}`, action: 'instance.received' }]);
    expect((await jobsOf(lost)).map((j) => [j.id, j.data])).toEqual([[aiResultsSrJobId({ kind: 'findings', sopInstanceUid: lost, modelKey }), { kind: 'findings', sopInstanceUid: lost, modelKey }]]);
    expect(await jobsOf(written)).toEqual([]);
    expect(await jobsOf(shadowed)).toEqual([]);
    expect(await instanceRow(findingsSrUid(shadowed, shadowModel))).toBeUndefined();
    // Once written, a second pass asks for nothing.
    expect(await aiResultsSr.reconcile()).toBe(0);
    expect(await auditOf(findingsSrUid(lost, model))).toHaveLength(1);
  });

  it('when the last week\'s clinical findings are read a page at a time, then each image and model comes once, in the order recorded, without shadow findings or older ones', async () => {
    const since = new Date();
    const films = [await filmWithFinding(), await filmWithFinding(), await filmWithFinding()];
    const { sopInstanceUid: shadowed } = await recordAsIngested(chestAsAnotherStudy(), { blob: false });
    await store.recordShadowFindings(shadowed, [{ ...finding(shadowed, 0.9), id: `s-${shadowed}`, model: { ...model, version: '2.0.0-shadow' } }], 'model:test');
    const seen: string[] = [];
    let page = await store.findingsSince(since, 1);
    for (let pages = 1; ; pages++) {
      seen.push(...page.subjects.map((s) => `${s.sopInstanceUid} ${s.model.id}@${s.model.version}`));
      if (!page.next) break;
      expect(pages).toBeLessThan(10);
      page = await store.findingsSince(since, 1, page.next);
    }
    expect(seen).toEqual(films.map((sop) => `${sop} ${model.id}@${model.version}`));
  });

  it('when ingest stored a film\'s DICOM JSON, then its SR is written from the store alone — the film\'s blob is never read — byte for byte the SR its blob gives', async () => {
    const film = chestAsAnotherStudy('(0008,0005)=ISO_IR 192', '(0010,0010)=李^雷');
    const filmMeta = await recordAsIngested(film, { blob: false });
    await store.recordFindings(filmMeta.sopInstanceUid, [finding(filmMeta.sopInstanceUid, 0.7)], 'model:test');
    await aiResultsSr.afterFindings(filmMeta.sopInstanceUid, `${model.id}@${model.version}`);
    const row = await stored(findingsSrUid(filmMeta.sopInstanceUid, model));
    const subject = await store.aiResultsSubject(filmMeta.sopInstanceUid, `${model.id}@${model.version}`);
    const fromBlob = findingsSr({ source: sourceImage(film), model, findings: subject.findings, createdAt: subject.createdAt });
    expect(Buffer.compare(Buffer.from(await blobs.get(row.blob_sha256)), Buffer.from(fromBlob.bytes))).toBe(0);
    expect(dsrdump(fromBlob.bytes).stdout).toMatch(/Patient +: 李\^雷/);
  });

  it('when the stored DICOM JSON is read for the test films, then each gives the same SR bytes as the film itself, and a JSON that left a copied attribute out is not used', async () => {
    const charsets = path.join(sharedData, 'dicom/pydicom-testfiles/charset_files');
    const films = {
      'a chest film without a Part 10 header': files.chestRaw,
      'a CT image': files.ct,
      // Patient names in UTF-8 (alphabetic and ideographic), ISO 2022 Japanese (three groups) and ISO 2022 GB2312 (read by Lantern's own decoder).
      'chrX1 (UTF-8)': path.join(charsets, 'chrX1.dcm'),
      'chrH31 (ISO 2022 Japanese)': path.join(charsets, 'chrH31.dcm'),
      'chrGB2312 (ISO 2022 Chinese)': path.join(sharedData, 'dicom/fo-dicom/files/charset/chrGB2312.dcm'),
    };
    const review = { id: '7', createdAt: '2026-12-04T09:00:00.000Z', reviewer: { name: 'Li Wei', login: 'dr.li' } };
    for (const [what, file] of Object.entries(films)) {
      const bytes = new Uint8Array(fs.readFileSync(file));
      const filmMeta = await recordAsIngested(bytes, { blob: false });
      const subject = await store.aiResultsSubject(filmMeta.sopInstanceUid, `${model.id}@${model.version}`, COPIED_TAGS);
      const { copied, ...identity } = subject.source;
      expect(copied, what).not.toBeNull();
      const [fromStore, fromBlob] = [storedSourceImage({ ...identity, copied: copied! }), sourceImage(bytes)];
      const input = { model, findings: [finding(filmMeta.sopInstanceUid, 0.7)], createdAt: '2026-12-04T08:00:00.000Z' };
      expect(Buffer.from(findingsSr({ ...input, source: fromStore }).bytes).equals(Buffer.from(findingsSr({ ...input, source: fromBlob }).bytes)), what).toBe(true);
      const decision = (source: typeof fromStore) => decisionSr({
        ...input, source, review, decisions: new Map([[input.findings[0].id, { decision: 'accept', reviewerName: 'Li Wei' }]]), organization: 'Lantern site main',
        predecessor: { sopInstanceUid: findingsSrUid(filmMeta.sopInstanceUid, model), seriesInstanceUid: '1.2.3' }, position: 1,
      }).bytes;
      expect(Buffer.from(decision(fromStore)).equals(Buffer.from(decision(fromBlob))), what).toBe(true);
    }
    // A stored JSON that had to leave the patient's name out (too large) is not copied from: the blob is read instead.
    const raw = new Uint8Array(fs.readFileSync(files.chestRaw));
    const { transferSyntaxUid, hasPart10Header } = parseDicom(raw);
    const json = readableDicomJson(raw, transferSyntaxUid, hasPart10Header)!;
    delete json.dataset['00100010'];
    const trimmed = newInstance({ blobSha256: await blobs.put(raw), dicomJson: { dataset: json.dataset, omitted: ['00100010'] }, pendingModels: [] });
    await store.recordInstance(trimmed, 'test');
    expect((await store.aiResultsSubject(trimmed.sopInstanceUid, `${model.id}@${model.version}`, COPIED_TAGS)).source.copied).toBeNull();
  });

  it('when the film\'s blob is not there yet when its SR job runs (and no DICOM JSON was stored), then the job is retried and the SR written once it is', async () => {
    const film = new Uint8Array(fs.readFileSync(files.crModalityLut));
    const filmMeta = parseDicom(film).meta;
    await store.recordInstance(newInstance({
      study: { studyInstanceUid: filmMeta.studyInstanceUid, modality: 'CR' }, seriesInstanceUid: filmMeta.seriesInstanceUid, sopInstanceUid: filmMeta.sopInstanceUid,
      sopClassUid: filmMeta.sopClassUid, blobSha256: createHash('sha256').update(film).digest('hex'), byteSize: film.byteLength, image: filmMeta.image, pendingModels: [],
    }), 'test');
    await store.recordFindings(filmMeta.sopInstanceUid, [finding(filmMeta.sopInstanceUid, 0.7)], 'model:test');
    await aiResultsSr.afterFindings(filmMeta.sopInstanceUid, `${model.id}@${model.version}`);
    const uid = findingsSrUid(filmMeta.sopInstanceUid, model);
    expect(await instanceRow(uid)).toBeUndefined();
    const [queued] = (await aiResultsSr.queue.getJobs(['delayed', 'waiting', 'active', 'failed'])).filter((j) => j.data.kind === 'findings' && j.data.sopInstanceUid === filmMeta.sopInstanceUid);
    expect(queued.data).toEqual({ kind: 'findings', sopInstanceUid: filmMeta.sopInstanceUid, modelKey: `${model.id}@${model.version}` });
    await blobs.put(film);
    expect((await stored(uid)).modality).toBe('SR');
  });

  it('when the destination is a DIMSE peer, then the SR goes by C-STORE and Orthanc lists it with its modality and series', async () => {
    const peer = await startOrthanc({ aet: 'ARCHIVE' });
    try {
      const row = await instanceRow(srUid);
      await resultsPush({ kind: 'dimse', calledAe: peer.aet, host: '127.0.0.1', port: peer.dicomPort, callingAe: 'LANTERN' })(await blobs.get(row.blob_sha256));
      const found = await peer.rest<string[]>('POST', '/tools/find', { Level: 'Instance', Query: { SOPInstanceUID: srUid } });
      expect(found).toHaveLength(1);
      const tags = await peer.rest<Record<string, string>>('GET', `/instances/${found[0]}/simplified-tags`);
      expect(tags).toMatchObject({ Modality: 'SR', SOPClassUID: '1.2.840.10008.5.1.4.1.1.88.33', SeriesInstanceUID: row.series_instance_uid, StudyInstanceUID: meta.studyInstanceUid });
      // A peer that refuses the association: the push throws, for the queue to retry.
      await expect(resultsPush({ kind: 'dimse', calledAe: 'ARCHIVE', host: '127.0.0.1', port: await freePort(), callingAe: 'LANTERN' })(await blobs.get(row.blob_sha256))).rejects.toThrow();
    } finally {
      await peer.stop();
    }
  });

  it('when pushes wait on an archive that takes the connection and never answers, then the next findings\' SRs are written all the same, while the first push still waits', async () => {
    const archive = await silentArchive();
    const blocked = createAiResultsSr({ redisUrl: redis.url, prefix: `${prefix}-blocked`, store, blobs, push: archive.push });
    const modelKey = `${model.id}@${model.version}`;
    try {
      const films = [];
      for (let i = 0; i < 5; i++) films.push(await filmWithFinding());
      await blocked.afterFindings(films[0], modelKey);
      await stored(findingsSrUid(films[0], model));
      await waitFor(async () => (archive.sockets.length > 0 ? true : undefined), 'the first push to reach the silent archive');
      // Three more, so four pushes are owed, as many as documents are written at once: when pushes shared the writing's
      // queue, they took every slot for 30 s and the next document waited for them.
      for (const sop of films.slice(1, 4)) await blocked.afterFindings(sop, modelKey);
      await Promise.all(films.slice(1, 4).map((sop) => stored(findingsSrUid(sop, model))));

      await blocked.afterFindings(films[4], modelKey);
      await stored(findingsSrUid(films[4], model));
      // Written while the first push is still in its first attempt: the only push running, the only connection the archive took.
      const [active, ...others] = await blocked.pushQueue.getJobs(['active']);
      expect(others).toEqual([]);
      expect([active.data.sopInstanceUid, active.attemptsMade]).toEqual([findingsSrUid(films[0], model), 0]);
      expect(archive.sockets).toHaveLength(1);
    } finally {
      await blocked.stop(200);
      archive.close();
    }
  });

  it('when the archive takes the connection but never answers, then stopping does not wait for the push: the job is left for the next start', async () => {
    const archive = await silentArchive();
    const hanging = createAiResultsSr({ redisUrl: redis.url, prefix: `${prefix}-silent`, store, blobs, push: archive.push });
    try {
      await hanging.afterFindings(meta.sopInstanceUid, `${model.id}@${model.version}`);
      await waitFor(async () => (archive.sockets.length > 0 ? true : undefined), 'the push to reach the silent archive');
      expect((await hanging.pushQueue.getJobs(['active'])).map((j) => j.data.kind)).toEqual(['push']);
      // The push would wait 30 s for an answer; the stop's grace is 200 ms (and this test's own limit 5 s).
      await hanging.stop(200);
    } finally {
      archive.close();
    }
    const queue = new Queue(AI_RESULTS_PUSH_QUEUE, { connection: { url: redis.url }, prefix: `${prefix}-silent` });
    expect((await queue.getJobs(['active', 'wait', 'delayed', 'failed'])).map((j) => j.data.kind)).toContain('push');
    await queue.close();
  });

  it('when an earlier Lantern left pushes waiting in the SR queue, then they are moved to the push queue under their id and pushed — or dropped when no destination is set now', async () => {
    const source = chestAsAnotherStudy();
    const { sopInstanceUid } = parseDicom(source).meta;
    const sr = findingsSr({ source: sourceImage(source), model, findings: [finding(sopInstanceUid, 0.7)], createdAt: '2026-12-04T08:00:00.000Z' });
    const left: AiResultsPushJob = { kind: 'push', sopInstanceUid: sr.sopInstanceUid, blobSha256: await blobs.put(sr.bytes) };
    // As the earlier Lantern queued it: in the SR queue, under the push's id, with the push's retries.
    const leaveIn = async (queuePrefix: string) => {
      const old = new Queue(AI_RESULTS_SR_QUEUE, { connection: { url: redis.url }, prefix: queuePrefix });
      await old.add('push', left, { jobId: aiResultsSrJobId(left), attempts: 18, backoff: { type: 'exponential', delay: 1000 } });
      await waitFor(async () => ((await old.getJob(aiResultsSrJobId(left)))?.finishedOn ? true : undefined), 'the SR queue to take the push left in it');
      await old.close();
    };

    await leaveIn(prefix);
    const found = await waitFor(async () => {
      const ids = await orthanc.rest<string[]>('POST', '/tools/find', { Level: 'Instance', Query: { SOPInstanceUID: sr.sopInstanceUid } });
      return ids.length > 0 ? ids : undefined;
    }, 'Orthanc to receive the push left in the SR queue', 30_000);
    expect(found).toHaveLength(1);
    expect(await (await aiResultsSr.pushQueue.getJob(aiResultsSrJobId(left)))?.getState()).toBe('completed');

    const unconfigured = createAiResultsSr({ redisUrl: redis.url, prefix: `${prefix}-none`, store, blobs });
    try {
      await leaveIn(`${prefix}-none`);
      expect(await unconfigured.pushQueue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed')).toEqual({ waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 });
    } finally {
      await unconfigured.stop();
    }
  });

  it('when the destination is unreachable, then the push is retried and the SR is stored all the same', async () => {
    const closedPort = await freePort();
    const failing = createAiResultsSr({ redisUrl: redis.url, prefix: `${prefix}-down`, store, blobs, push: resultsPush({ kind: 'dicomweb', url: `http://127.0.0.1:${closedPort}/dicom-web` }) });
    try {
      // Another real film, of another study, with a finding: its SR is written and stored whatever the destination does.
      const film = new Uint8Array(fs.readFileSync(files.crJ2k1760));
      const other = parseDicom(film).meta;
      await store.recordInstance(newInstance({
        study: { studyInstanceUid: other.studyInstanceUid, modality: 'CR' }, seriesInstanceUid: other.seriesInstanceUid, sopInstanceUid: other.sopInstanceUid,
        sopClassUid: other.sopClassUid, blobSha256: await blobs.put(film), byteSize: film.byteLength, image: other.image, pendingModels: [],
      }), 'test');
      await store.recordFindings(other.sopInstanceUid, [finding(other.sopInstanceUid, 0.2)], 'model:test');
      await failing.afterFindings(other.sopInstanceUid, `${model.id}@${model.version}`);
      await stored(findingsSrUid(other.sopInstanceUid, model));
      const push = await waitFor(async () => {
        const jobs = await failing.pushQueue.getJobs(['delayed', 'failed', 'waiting', 'active']);
        return jobs.find((j) => j.attemptsMade >= 1);
      }, 'the push to fail once and wait for its retry', 30_000);
      expect(push.failedReason).toMatch(/fetch failed|ECONNREFUSED/);
      expect(await push.getState()).toBe('delayed');
      expect((await store.getStudy(other.studyInstanceUid, ALL_SITES)).findings.map((f) => f.probability)).toEqual([0.2]);
    } finally {
      await failing.stop();
    }
  });
});
