import { DicomError } from '../dicom/errors.ts';
import { parseDicom, type ParsedInstance } from '../dicom/parse.ts';
import { requireValidUids } from '../dicom/uid.ts';
import { readableDicomJson } from '../dicom/dicom-json.ts';
import { logger, uidHash } from '../log.ts';
import { checkPopulation } from '../inference/applicability.ts';
import { notApplicableFindings } from '../inference/read-assist.ts';
import type { ModelRegistry } from '../inference/registry.ts';
import { REQUEST_REDIS_WAIT_MS, type ReadAssistQueue } from '../queue/enqueue.ts';
import type { QueuedModel, ReadAssistJob } from '../queue/jobs.ts';
import type { BlobStore, StagedBlob } from '../store/blobs.ts';
import type { Store } from '../store/store.ts';
import type { InstanceWrites } from './instance-writes.ts';
import type { StoredInstance } from '../contract/dicomweb.ts';
import type { InstanceMeta } from '../dicom/attributes.ts';
import type { AiResultsSr } from './ai-results-sr.ts';
import type { ModelMetrics } from './model-metrics.ts';
import { recordRunFindings, type RunFindings } from './record-findings.ts';

/**
 * One received DICOM object, through the whole ingest path:
 * parse + validate (throws InvalidDicomError: nothing stored) → store the bytes by hash
 * → enqueue one read-assist job per applicable model (none when the patient's consent
 * withholds AI processing: the instance is stored, marked withheld), and meanwhile record
 * study/series/instance (idempotent on SOP Instance UID).
 *
 * A model whose card's population the header alone rules out (the children's model on an adult's
 * film: inference/applicability.ts checkPopulation, the gate the worker applies before any decode)
 * gets no job: its "not applicable" findings — the same rows a worker run would write, ids derived
 * from instance, model and label — are recorded here once the instance row has committed and the
 * other models' jobs are queued, audited as the model, their SR queued (pipeline/record-findings.ts,
 * as the results consumer does); while a clinical model of the same film runs, once its result is
 * persisted (at most a moment later: pipeline/instance-writes.ts `answer`), so that these writes
 * do not take the CPU its decode needs. Until then the model is pending like any other: if that write
 * fails, the ordinary job is queued at once and the worker answers; if the process dies first, the
 * reconciler (pipeline/reconcile.ts) queues it at the next start. The upload's answer does not wait
 * for it.
 *
 * An object without Pixel Data (SR, KOS, PR, …) is stored as received and recorded in its
 * study and series with no image: nothing is queued for it, and it does not name the study's
 * modality (an SR pushed before its films would otherwise file a CR study as "SR").
 *
 * The jobs start before the row commits so that decoding overlaps the write (see
 * pipeline/instance-writes.ts for how a result waits for it). Job ids are derived, so a duplicate
 * upload adds no work while BullMQ keeps the finished job (7 days), and at most an
 * idempotent re-read after that. If the write fails the upload fails; the started job's
 * result is retried until a re-upload records the instance. A Redis that is down or stalled
 * does not hold the upload (queue/enqueue.ts `within`): the committed instance is answered
 * at once and its jobs are added when Redis returns (the held commands, and the reconciler
 * at every reconnect and start).
 */
/** What ingest writes to: the blobs, the store, the read-assist queue, and the writes in flight the results consumer waits for. */
export interface IngestDeps {
  store: Store;
  blobs: BlobStore;
  registry: Pick<ModelRegistry, 'forStudy'>;
  readAssist: ReadAssistQueue;
  instanceWrites: InstanceWrites;
  /** Queues the DICOM SR of findings answered at ingest, as the results consumer queues a worker's (pipeline/ai-results-sr.ts). Absent: none is queued. */
  aiResultsSr?: Pick<AiResultsSr, 'afterFindings'>;
  /** Counts a run answered at ingest once stored, as the API counts a worker's result (pipeline/model-metrics.ts): no stage timings, it had none. */
  metrics?: { models: Pick<ModelMetrics, 'record'> };
  /**
   * Parses and validates the bytes; the API passes its off-thread parser (dicom/parse-off-thread),
   * so no upload is parsed on its event loop. Default: in-process, within the default limits.
   */
  parse?: (bytes: Uint8Array, options?: { onParsed?: (parsed: Pick<ParsedInstance, 'meta'>) => void }) => Promise<ParsedInstance>;
}

/** Who sends an instance in: the audited actor, and the site a new study is filed under. */
export interface Uploader {
  actor: string;
  siteId: string;
  /** The study the sender addressed (STOW-RS `POST /studies/{study}`): an instance of another study is refused. */
  intoStudy?: string;
}

/** A well-formed instance refused for where it would go, not for what it is: its SOP Class and Instance UIDs are known. */
export class InstanceRefusedError extends DicomError {
  constructor(message: string, code: string, readonly sop: { classUid: string; instanceUid: string }) {
    super(message, code);
  }
}

/** An instance of a study another site holds: refused like bad input, and the study's existence there is not confirmed beyond this. */
export class StudyOfAnotherSiteError extends InstanceRefusedError {
  constructor(meta: Pick<InstanceMeta, 'studyInstanceUid' | 'sopClassUid' | 'sopInstanceUid'>) {
    super(`study ${meta.studyInstanceUid} is filed under another site; send it from a user of that site`, 'STUDY_OF_ANOTHER_SITE',
      { classUid: meta.sopClassUid, instanceUid: meta.sopInstanceUid });
  }
}

/** An instance sent to one study (`POST /studies/{study}`) that belongs to another. */
export class NotInTargetStudyError extends InstanceRefusedError {
  constructor(meta: Pick<InstanceMeta, 'studyInstanceUid' | 'sopClassUid' | 'sopInstanceUid'>, target: string) {
    super(`the instance belongs to study ${meta.studyInstanceUid}, not to study ${target} it was sent to`, 'STUDY_INSTANCE_UID_MISMATCH',
      { classUid: meta.sopClassUid, instanceUid: meta.sopInstanceUid });
  }
}

/**
 * While `deps.parse` runs on its thread, ingest's next steps start beside it: the bytes are hashed
 * and written under a temporary name (store/blobs.ts `stage`; the thread parses a copy, 0.1 ms of a
 * radiograph, as it takes its bytes over), and the filing and consent question is asked as soon as
 * the thread has found the object valid, while it still reads the DICOM JSON (`onParsed`). The blob
 * is named only once the instance passed every check below, and a refused one leaves no file.
 */
export async function ingestInstance(deps: IngestDeps, bytes: Uint8Array, uploader: Uploader): Promise<StoredInstance> {
  let filing: ReturnType<Store['filingAndConsent']> | undefined;
  const askFiling = (meta: InstanceMeta) =>
    (filing ??= deps.store.filingAndConsent(meta.studyInstanceUid, uploader.siteId, meta.patientId, meta.image ? 'ai-processing' : undefined));
  const parsing = deps.parse?.(Uint8Array.prototype.slice.call(bytes), { onParsed: ({ meta }) => void askFiling(meta).catch(() => undefined) });
  parsing?.catch(() => undefined);
  // After the parse has been handed to its thread, so that hashing does not hold it back.
  if (parsing) await new Promise((resolve) => setImmediate(resolve));
  const staged = deps.blobs.stage(bytes);
  try {
    return await ingestStaged(deps, await (parsing ?? parseDicom(bytes)), bytes, uploader, { askFiling, blob: staged });
  } finally {
    await staged.discard();
  }
}

async function ingestStaged(deps: IngestDeps, instance: ParsedInstance, bytes: Uint8Array, uploader: Uploader,
  ahead: { askFiling: (meta: InstanceMeta) => ReturnType<Store['filingAndConsent']>; blob: StagedBlob }): Promise<StoredInstance> {
  const meta = instance.meta;
  const image = meta.image;
  requireValidUids(meta);
  if (uploader.intoStudy !== undefined && meta.studyInstanceUid !== uploader.intoStudy) throw new NotInTargetStudyError(meta, uploader.intoStudy);
  // Both asked in one read before any job starts, and again by the write, in its transaction: the
  // study's site (refused if another's, for a race), and the patient's consent (under the lock a
  // consent change takes). No job is queued for a patient whose consent keeps AI away.
  const { filed, withheld: aiWithheld } = await ahead.askFiling(meta);
  if (filed !== undefined && filed.siteId !== uploader.siteId) throw new StudyOfAnotherSiteError(meta);
  // Clinical, canary and shadow models all read the image, each in its own job marked with its run's deployment;
  // only clinical runs are waited for (`pendingModels`): a study's AI is done when its clinical models have answered.
  const runs: QueuedModel[] = [];
  const answered: RunFindings[] = [];
  if (image && !aiWithheld) {
    for (const { model, deployment } of deps.registry.forStudy(meta.modality, { studyInstanceUid: meta.studyInstanceUid, siteId: uploader.siteId })) {
      // The worker's first gate (inference/read-assist.ts), before any decode: what the header alone decides is decided here.
      const population = checkPopulation(meta, image, model.card);
      if (population.applicable) runs.push({ modelKey: model.key, deployment });
      else answered.push({ sopInstanceUid: meta.sopInstanceUid, modelKey: model.key, deployment, findings: notApplicableFindings(meta.sopInstanceUid, model, population, {}) });
    }
  }
  // A clinical model answered here is pending too until its findings commit: a write lost before then is the reconciler's to queue.
  const clinical = (run: QueuedModel) => run.deployment === 'clinical';
  const queuedModels = runs.filter(clinical).map((r) => r.modelKey);
  const models = [...queuedModels, ...answered.filter(clinical).map((r) => r.modelKey)];
  const shadowModels = [...runs, ...answered].filter((r) => r.deployment === 'shadow').map((r) => r.modelKey);
  const blobSha256 = await ahead.blob.commit();
  // The off-thread parser has read it already; an in-process parse (tests, the CLI's checks) reads it here.
  const readThere = 'dicomJson' in instance ? instance.dicomJson : undefined;
  const dicomJson = (readThere === undefined ? readableDicomJson(bytes, instance.transferSyntaxUid, instance.hasPart10Header) : readThere) ?? undefined;
  const recorded = deps.instanceWrites.track(meta.sopInstanceUid, deps.store.recordInstance({
    study: {
      studyInstanceUid: meta.studyInstanceUid,
      patientId: meta.patientId,
      patientName: meta.patientName,
      patientSex: meta.patientSex,
      patientAge: meta.patientAge,
      studyDate: meta.studyDate,
      studyDescription: meta.studyDescription,
      accessionNumber: meta.accessionNumber,
      modality: image ? meta.modality : undefined,
    },
    seriesInstanceUid: meta.seriesInstanceUid,
    seriesNumber: meta.seriesNumber,
    bodyPart: meta.bodyPartExamined,
    sopInstanceUid: meta.sopInstanceUid,
    sopClassUid: meta.sopClassUid,
    transferSyntaxUid: instance.transferSyntaxUid,
    modality: meta.modality,
    blobSha256,
    byteSize: bytes.byteLength,
    image: image && { ...image },
    pendingModels: models,
    aiWithheld,
    siteId: uploader.siteId,
    dicomJson,
  }, uploader.actor));
  let status: StoredInstance['status'];
  let priority: number;
  const job = { sopInstanceUid: meta.sopInstanceUid, studyInstanceUid: meta.studyInstanceUid, blobSha256 };
  if (runs.length > 0) {
    // Queued at the study's rank as stored (a new study's if it is new): a film of a study already
    // ranked urgent is never visible to workers at a lower rank, where under a flood it would lose
    // its turn to the work queued before it. Re-ranked if the write changes the study's priority.
    const queuedAt = filed?.priority ?? deps.store.newStudyPriority;
    const queued = deps.readAssist.enqueue(job, runs, queuedAt);
    // Awaited through `queuing` below; caught here so that a failed write leaves no unhandled rejection.
    queued.catch(() => undefined);
    const written = await recorded;
    const queuing = queued.then(() => (written.priority !== queuedAt ? deps.readAssist.reprioritise(meta.sopInstanceUid, queuedModels, written.priority) : undefined));
    if (!await deps.readAssist.within(queuing, REQUEST_REDIS_WAIT_MS)) {
      logger.warn({ instance: uidHash(meta.sopInstanceUid), models }, 'Redis is unavailable: the instance is stored, its jobs are queued when Redis returns');
    }
    status = written.status;
    priority = written.priority;
  } else {
    ({ status, priority } = await recorded);
  }
  // After the row commits and the other models' jobs are queued (theirs is the path a clinician waits on). A duplicate's
  // first upload answered them, or left them pending for the reconciler.
  // Held while a clinical model of the film decodes (pipeline/instance-writes.ts answer).
  const answeredModels = answered.map((r) => r.modelKey);
  if (answered.length > 0 && status === 'stored') deps.instanceWrites.answer(meta.sopInstanceUid, answeredModels, () => answerAtIngest(deps, answered, job, priority), { hold: queuedModels.length > 0 });
  logger.info({ instance: uidHash(meta.sopInstanceUid), status, models, shadowModels, answeredAtIngest: answeredModels, aiWithheld }, 'instance ingested');
  return { studyInstanceUid: meta.studyInstanceUid, seriesInstanceUid: meta.seriesInstanceUid, sopInstanceUid: meta.sopInstanceUid, sopClassUid: meta.sopClassUid, status };
}

/**
 * Records the runs answered from the header alone, as a worker's results are recorded. Never throws:
 * a run whose answer cannot be recorded (a database error, the store closing) gets its ordinary job
 * instead, at once, and the worker writes the same rows; the reconciler would queue it only at the
 * next start or Redis reconnect, leaving the study waiting until then. If that fails too, the model
 * stays pending and the reconciler queues it then.
 */
async function answerAtIngest(deps: IngestDeps, answered: RunFindings[], job: Omit<ReadAssistJob, 'modelKey' | 'deployment'>, priority: number): Promise<void> {
  const recordDeps = { store: deps.store, onFindings: deps.aiResultsSr?.afterFindings };
  for (const run of answered) {
    try {
      await recordRunFindings(recordDeps, run);
    } catch (error) {
      logger.warn({ err: error, instance: uidHash(run.sopInstanceUid), model: run.modelKey }, 'a run answered at ingest was not recorded; its job is queued for a worker instead');
      await deps.readAssist.enqueue(job, [{ modelKey: run.modelKey, deployment: run.deployment }], priority)
        .catch((failure: unknown) => logger.error({ err: failure, instance: uidHash(run.sopInstanceUid), model: run.modelKey }, 'nor could its job be queued; reconciliation queues it'));
      continue;
    }
    deps.metrics?.models.record({ kind: 'findings', ...run });
  }
}
