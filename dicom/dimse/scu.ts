import dimse from 'dcmjs-dimse';
import { splitPart10 } from './part10.ts';

/**
 * C-STORE SCU: sends stored Part 10 files to another AE (a PACS, Orthanc) in one association,
 * each data set exactly as stored. dcmjs-dimse would re-encode a data set from its parsed
 * elements, and "transcode" when the peer accepts another syntax; here each request carries a
 * data set whose bytes are the file's own and which refuses to be re-encoded, and the
 * association proposes for each SOP class only the syntaxes of the files being sent. An object
 * whose syntax the peer does not accept is reported, never converted.
 */

type Dataset = InstanceType<typeof dimse.Dataset>;
type Association = InstanceType<typeof dimse.association.Association>;

/** Where to push: the shape `LANTERN_RESULTS_DESTINATION=dimse:AE@host:port` is read into (config.ts). */
export interface DimseDestination {
  calledAe: string;
  host: string;
  port: number;
  callingAe: string;
}

export interface PushOptions {
  /** Connecting, negotiating, and the wait for each answer. Default 30 s each. */
  timeoutMs?: number;
}

export interface PushResult {
  sopInstanceUid: string;
  /** The C-STORE-RSP status (0 = success); undefined when the object was not sent (see `comment`). */
  status?: number;
  comment?: string;
}

/** The association failed as a whole (refused, unreachable, aborted): nothing is known to be stored. */
export class DimsePushError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DimsePushError';
  }
}

/** A data set that is its stored bytes: dcmjs-dimse sends `getDenaturalizedDataset()`, and anything that would re-read it fails. */
function storedDataSet(file: Uint8Array): { dataset: Dataset; sopInstanceUid: string; sopClassUid: string; transferSyntaxUid: string } {
  const object = splitPart10(file);
  const dataset = new dimse.Dataset({ SOPClassUID: object.sopClassUid, SOPInstanceUID: object.sopInstanceUid }, object.transferSyntaxUid);
  const bytes = Buffer.from(object.dataSet.buffer, object.dataSet.byteOffset, object.dataSet.byteLength);
  Object.assign(dataset, {
    getDenaturalizedDataset: () => bytes,
    // dcmjs-dimse "transcodes" a native data set by re-writing its elements: here there are none to re-write.
    getElements: () => {
      throw new Error(`the peer accepted another transfer syntax than ${object.transferSyntaxUid}; Lantern sends objects as stored`);
    },
  });
  return { dataset, ...object };
}

/**
 * Proposes, for each SOP class, only the transfer syntaxes of its objects, one presentation
 * context per syntax (dcmjs-dimse puts implicit and explicit little endian in one context of
 * every class, so a peer would choose one syntax for objects stored in both): each object then
 * finds a context accepted in its own syntax, or is reported. A context with none of them keeps what it had.
 */
function proposeOnly(association: Association, syntaxes: Map<string, Set<string>>) {
  for (const { context } of [...association.getPresentationContexts()]) {
    const wanted = syntaxes.get(context.getAbstractSyntaxUid());
    const proposed = context.getTransferSyntaxUids();
    const kept = proposed.filter((uid) => wanted?.has(uid));
    if (kept.length === 0) continue;
    proposed.filter((uid) => uid !== kept[0]).forEach((uid) => context.removeTransferSyntaxUid(uid));
    for (const uid of kept.slice(1)) association.addTransferSyntaxToPresentationContext(association.addPresentationContext(context.getAbstractSyntaxUid()), uid);
  }
}

/** Sends `files` (Part 10, as stored) to `destination`; resolves with each one's status once the association is released. */
export async function pushInstances(destination: DimseDestination, files: readonly Uint8Array[], options: PushOptions = {}): Promise<PushResult[]> {
  if (files.length === 0) return [];
  const timeout = options.timeoutMs ?? 30_000;
  dimse.log.setLevel('silent');
  const client = new dimse.Client();
  const results: PushResult[] = [];
  const syntaxes = new Map<string, Set<string>>();
  for (const file of files) {
    const { dataset, sopInstanceUid, sopClassUid, transferSyntaxUid } = storedDataSet(file);
    const result: PushResult = { sopInstanceUid, comment: 'no answer: the peer accepted none of its transfer syntaxes, or the association ended first' };
    results.push(result);
    if (!syntaxes.has(sopClassUid)) syntaxes.set(sopClassUid, new Set());
    syntaxes.get(sopClassUid)!.add(transferSyntaxUid);
    const request = new dimse.requests.CStoreRequest(dataset);
    request.on('response', (response: InstanceType<typeof dimse.responses.CStoreResponse>) => {
      result.status = response.getStatus();
      result.comment = response.getErrorComment() || undefined;
    });
    client.addRequest(request);
  }
  return new Promise<PushResult[]>((resolve, reject) => {
    const fail = (message: string, cause?: unknown) => reject(new DimsePushError(`${destination.calledAe}@${destination.host}:${destination.port}: ${message}`, { cause }));
    client.on('associationRejected', ({ result, source, reason }: { result: number; source: number; reason: number }) =>
      fail(`association rejected (result ${result}, source ${source}, reason ${reason})`));
    client.on('networkError', (error: Error) => fail(error.message, error));
    client.on('closed', () => resolve(results));
    client.send(destination.host, destination.port, destination.callingAe, destination.calledAe, { connectTimeout: timeout, associationTimeout: timeout, pduTimeout: timeout });
    // The association is built inside send(); it is sent once the socket connects, after this.
    const network = (client as unknown as { network: { sendAssociationRequest(association: Association): void } }).network;
    const send = network.sendAssociationRequest.bind(network);
    network.sendAssociationRequest = (association) => {
      proposeOnly(association, syntaxes);
      send(association);
    };
  });
}
