import { parseDicom, requirePixelData } from '../dicom/parse.ts';
import { logger, uidHash } from '../log.ts';
import type { ApiDeps } from './deps.ts';

export interface IngestOutcome {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  status: 'stored' | 'duplicate';
}

/**
 * One received DICOM object, through the whole ingest path:
 * parse + validate (throws InvalidDicomError: nothing stored) → store the bytes by hash
 * → record study/series/instance (idempotent on SOP Instance UID) → enqueue one
 * read-assist job per applicable model (job ids are derived, so this is idempotent too).
 */
export async function ingestInstance(deps: Pick<ApiDeps, 'store' | 'blobs' | 'registry' | 'readAssist'>, bytes: Uint8Array, actor: string): Promise<IngestOutcome> {
  const instance = parseDicom(bytes);
  const image = requirePixelData(instance);
  const meta = instance.meta;
  const models = deps.registry.forModality(meta.modality).map((m) => m.key);
  const blobSha256 = await deps.blobs.put(bytes);
  const { status, priority } = await deps.store.recordInstance({
    study: {
      studyInstanceUid: meta.studyInstanceUid,
      patientId: meta.patientId,
      patientName: meta.patientName,
      patientSex: meta.patientSex,
      patientAge: meta.patientAge,
      studyDate: meta.studyDate,
      studyDescription: meta.studyDescription,
      accessionNumber: meta.accessionNumber,
      modality: meta.modality,
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
    image: { ...image },
    pendingModels: models,
  }, actor);
  // A duplicate still waiting for AI is enqueued again: if the first enqueue was lost
  // (Redis down after the row was written), the re-upload heals it; job ids dedupe the rest.
  const awaitingAi = status === 'stored' || (await deps.store.getInstance(meta.sopInstanceUid)).status === 'queued';
  if (awaitingAi && models.length > 0) {
    await deps.readAssist.enqueue({ sopInstanceUid: meta.sopInstanceUid, studyInstanceUid: meta.studyInstanceUid, blobSha256 }, models, priority);
  }
  logger.info({ instance: uidHash(meta.sopInstanceUid), status, models }, 'instance ingested');
  return { studyInstanceUid: meta.studyInstanceUid, seriesInstanceUid: meta.seriesInstanceUid, sopInstanceUid: meta.sopInstanceUid, status };
}
