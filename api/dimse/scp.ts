import type { DimseSettings, LanternConfig } from '../../config.ts';
import type { User } from '../../contract/identity.ts';
import { supportedTransferSyntaxes } from '../../dicom/decode/index.ts';
import { DicomError, DicomLimitError } from '../../dicom/errors.ts';
import { dicomLimits } from '../../dicom/limits.ts';
import { createOffThreadParser } from '../../dicom/parse-off-thread/index.ts';
import { startDimseServer, type DimsePeer, type DimseServer, type ReceivedInstance } from '../../dicom/dimse/server.ts';
import { STATUS, type DimseStatus } from '../../dicom/dimse/status.ts';
import { logger, uidHash } from '../../log.ts';
import { ingestInstance, StudyOfAnotherSiteError, type IngestDeps } from '../../pipeline/ingest.ts';
import { findStudies } from '../../store/dicom-query.ts';
import { ACCESS } from '../access.ts';
import { siteScope } from '../auth.ts';
import { auditDimseFind } from '../read-audit.ts';
import { findAnswer, studyQueryOf, MAX_FIND_MATCHES } from './find.ts';

/**
 * Lantern's DIMSE SCP: the hospital's other door besides DICOMweb, with the same rules. It
 * lives beside the HTTP routes because it is another surface onto the same pipeline and
 * decides access with the same table (api/access.ts): a calling AE title listed in
 * `LANTERN_DIMSE_PEERS` speaks for one Lantern user, whose roles and sites apply and who is
 * the audited actor; any other AE title is rejected at association. C-STORE goes through
 * `ingestInstance` exactly as STOW-RS does (parsed off-thread, within the same limits; the
 * bytes stored are the data set as received, behind a file meta group); C-FIND at STUDY level
 * matches with `findStudies`, the QIDO-RS matcher. The DICOM side (negotiation, bounds,
 * statuses) is dicom/dimse/server.ts.
 */

export type DimseScpDeps = Omit<IngestDeps, 'parse'> & {
  config: Pick<LanternConfig, 'maxUploadBytes' | 'dicomLimits'> & { dimse: DimseSettings };
};

/** How long `close` lets a C-STORE or C-FIND in flight finish. */
export const DIMSE_CLOSE_GRACE_MS = 5_000;

export interface DimseScp extends Pick<DimseServer, 'host' | 'port' | 'aeTitle' | 'associations'> {
  close(): Promise<void>;
}

/** The Lantern user a calling AE title speaks for, with the sites it reads (api/auth.ts siteScope). */
interface PeerAccount {
  user: User;
  scope: readonly string[];
}

const holds = (user: User, access: readonly string[]) => user.roles.some((role) => access.includes(role));
/** IPv4 peers appear as `::ffff:10.1.2.3` on a dual-stack socket. */
const plainAddress = (address: string) => address.replace(/^::ffff:/, '');

export async function startDimseScp(deps: DimseScpDeps): Promise<DimseScp> {
  const settings = deps.config.dimse;
  // Its own parsing thread: a slow C-STORE never queues behind STOW uploads, nor they behind it.
  const parser = createOffThreadParser({ limits: dicomLimits(deps.config.dicomLimits) });

  async function authorize(peer: DimsePeer): Promise<PeerAccount | undefined> {
    const setting = settings.peers.find((p) => p.aeTitle === peer.callingAeTitle && (!p.address || p.address === plainAddress(peer.address)));
    if (!setting) return undefined;
    const account = await deps.store.activeUser(setting.username);
    if (!account) {
      logger.warn({ callingAe: peer.callingAeTitle, username: setting.username }, 'DIMSE: the AE title names a user that does not exist or is disabled');
      return undefined;
    }
    return siteScope(account);
  }

  async function store(received: ReceivedInstance, { user }: PeerAccount): Promise<DimseStatus> {
    if (!holds(user, ACCESS.ingest)) return { status: STATUS.notAuthorized, comment: `${user.username} may not send images` };
    try {
      const parsed = await parser.parse(received.file);
      if (parsed.meta.sopClassUid !== received.sopClassUid) return { status: STATUS.dataSetDoesNotMatchSopClass, comment: 'SOP Class UID differs from the command' };
      if (parsed.meta.sopInstanceUid !== received.sopInstanceUid) return { status: STATUS.cannotUnderstand, comment: 'SOP Instance UID differs from the command' };
      await ingestInstance({ ...deps, parse: async () => parsed }, parsed.bytes, { actor: user.username, siteId: user.sites[0] });
      return { status: STATUS.success };
    } catch (error) {
      return statusOf(error, received);
    }
  }

  async function find(query: { model: 'study' | 'patient'; identifier: Record<string, unknown> }, { user, scope }: PeerAccount) {
    if (!holds(user, ACCESS.patientData)) return { matches: [], final: { status: STATUS.notAuthorized, comment: `${user.username} may not read patient data` } };
    const parsed = studyQueryOf(query.identifier);
    if ('refused' in parsed) return { matches: [], final: parsed.refused };
    const studies = await findStudies(deps.store.db, { ...parsed.query, limit: MAX_FIND_MATCHES + 1, offset: 0 }, scope);
    const answer = findAnswer(query.identifier, studies);
    if (answer.studies.length) auditDimseFind(deps, user.username, answer.studies);
    return answer;
  }

  const server = await startDimseServer<PeerAccount>({
    host: settings.host,
    port: settings.port,
    aeTitle: settings.aeTitle,
    maxPduLength: settings.maxPduLength,
    maxAssociations: settings.maxAssociations,
    idleTimeoutMs: settings.idleTimeoutSeconds * 1000,
    maxObjectBytes: deps.config.maxUploadBytes,
    storageTransferSyntaxes: supportedTransferSyntaxes,
    handlers: { authorize, store, find },
  });
  logger.info({ host: server.host, port: server.port, aeTitle: server.aeTitle, peers: settings.peers.map((p) => p.aeTitle) }, 'DIMSE SCP listening');
  let closing: Promise<void> | undefined;
  return {
    host: server.host,
    port: server.port,
    aeTitle: server.aeTitle,
    associations: server.associations,
    // Called when the role stops accepting and again when it stops.
    close: () => (closing ??= server.close(DIMSE_CLOSE_GRACE_MS).then(() => parser.close())),
  };
}

/**
 * The DIMSE answer to an ingest failure: a bound broken is out of resources (0xA700), another
 * site's study is not authorised (0x0124), anything else the parser or validation refused is
 * "cannot understand" (0xC000); a fault of Lantern's own (database, disk) is a processing
 * failure (0x0110), which a sender retries.
 */
function statusOf(error: unknown, received: ReceivedInstance): DimseStatus {
  if (error instanceof DicomLimitError) return { status: STATUS.outOfResources, comment: `${error.code}: ${error.message}` };
  if (error instanceof StudyOfAnotherSiteError) return { status: STATUS.notAuthorized, comment: 'the study is filed under another site' };
  if (error instanceof DicomError) return { status: STATUS.cannotUnderstand, comment: `${error.code}: ${error.message}` };
  logger.error({ err: error, instance: uidHash(received.sopInstanceUid) }, 'DIMSE C-STORE failed inside Lantern');
  return { status: STATUS.processingFailure, comment: 'Lantern could not store it now; retry later' };
}
