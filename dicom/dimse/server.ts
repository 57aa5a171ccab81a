import net from 'node:net';
import { Writable } from 'node:stream';
import dimse from 'dcmjs-dimse';
import { logger } from '../../log.ts';
import { pduGuard } from './pdu-guard.ts';
import { part10Of } from './part10.ts';
import { STATUS, type DimseStatus } from './status.ts';

/**
 * A DIMSE service class provider (C-ECHO, C-STORE, C-FIND) on dcmjs-dimse, bounded for a
 * network of strangers. dcmjs-dimse says it is not for clinical production; what it lacks is
 * added here rather than trusted:
 * - it binds every interface (its Server takes a port only): this listens on `host` itself;
 * - it buffers a PDU of any declared length, and any non-C-STORE data set whole: `pduGuard`
 *   drops a connection whose PDU is longer than the max PDU length Lantern announced, or whose
 *   command or query runs past 1 MiB;
 * - it keeps a C-STORE data set in memory unbounded and re-parses it with dcmjs: here the
 *   received bytes are collected as they arrived, at most `maxObjectBytes` of them (the rest is
 *   counted, dropped and answered 0xA700), and handed on as a Part 10 file — never re-encoded;
 * - associations at once, idle time and outstanding operations per association are capped.
 * Who may do what is the caller's (`handlers`): this file knows DICOM, not Lantern's users.
 * Over 300 lines, and `startDimseServer` over 80, because the association's whole life —
 * negotiation, the three services, bounds and shutdown — reads in one place: the SCP class is a
 * closure over the server's options and handlers, as dcmjs-dimse constructs one per connection.
 */

type Association = InstanceType<typeof dimse.association.Association>;
type PresentationContext = InstanceType<typeof dimse.association.PresentationContext>;
type Dataset = InstanceType<typeof dimse.Dataset>;
type CStoreRequest = InstanceType<typeof dimse.requests.CStoreRequest>;
type CFindRequest = InstanceType<typeof dimse.requests.CFindRequest>;
type CEchoRequest = InstanceType<typeof dimse.requests.CEchoRequest>;

const { constants } = dimse;
const { PresentationContextResult, RejectResult, RejectSource, RejectReason, SopClass, TransferSyntax } = constants;

export const SOP_CLASS = {
  verification: SopClass.Verification,
  studyRootFind: SopClass.StudyRootQueryRetrieveInformationModelFind,
  patientRootFind: '1.2.840.10008.5.1.4.1.2.1.1',
} as const;

/** Every storage SOP class lives under this root (PS3.4 Annex B, PS3.6 Annex A). */
const STORAGE_ROOT = '1.2.840.10008.5.1.4.1.1.';
/** Commands and queries are small: uncompressed syntaxes only. */
const COMMAND_SYNTAXES: readonly string[] = [TransferSyntax.ExplicitVRLittleEndian, TransferSyntax.ImplicitVRLittleEndian];
/** A command, or a C-FIND identifier, larger than this is not a query but an attack. */
const MAX_NON_STORE_BYTES = 1024 * 1024;
/** Operations one association may have waiting (no asynchronous operations window is granted: one at a time, one in reserve). */
const MAX_OUTSTANDING = 2;
/** Command Field (0000,0100) of a C-STORE-RQ (PS3.7 E.1): while one is open, its data set is the Capture's to bound. */
const C_STORE_RQ = 0x0001;
/** ErrorComment (0000,0902) is LO: 64 characters. */
const COMMENT_CHARS = 64;

export interface DimsePeer {
  callingAeTitle: string;
  /** The peer's IP address as the socket sees it. */
  address: string;
}

/** A received C-STORE, ready for ingest. */
export interface ReceivedInstance {
  /** Lantern's file meta group followed by the data set exactly as received. */
  file: Uint8Array;
  /** How many bytes of it are the received data set. */
  dataSetBytes: number;
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  callingAeTitle: string;
}

export interface FindQuery {
  /** Study Root or Patient Root. */
  model: 'study' | 'patient';
  /** The identifier, as dcmjs names its attributes (`PatientID`, `PatientName`, `StudyDate`, …). */
  identifier: Record<string, unknown>;
}

export interface FindAnswer {
  /** Each match as dcmjs-named attributes; each is sent as a Pending (0xFF00) response. */
  matches: Record<string, unknown>[];
  /** The final response; Success unless said otherwise. */
  final?: DimseStatus;
}

/** What the caller decides; `Principal` is whoever the calling AE speaks for. */
export interface DimseHandlers<Principal> {
  /** The principal this peer speaks for, or undefined: the association is rejected, calling AE title not recognised. */
  authorize(peer: DimsePeer): Promise<Principal | undefined>;
  store(instance: ReceivedInstance, principal: Principal): Promise<DimseStatus>;
  find(query: FindQuery, principal: Principal): Promise<FindAnswer>;
}

export interface DimseServerOptions<Principal> {
  host: string;
  /** 0 picks a free port. */
  port: number;
  aeTitle: string;
  /** The max PDU length announced (and enforced on what is received). */
  maxPduLength: number;
  maxAssociations: number;
  /** An association silent this long is aborted (also the time a peer has to send its A-ASSOCIATE-RQ). */
  idleTimeoutMs: number;
  /** Largest data set one C-STORE may carry. */
  maxObjectBytes: number;
  /** The transfer syntaxes stored data sets may be in; within a presentation context the proposer's order decides. */
  storageTransferSyntaxes: readonly string[];
  handlers: DimseHandlers<Principal>;
}

export interface DimseServer {
  host: string;
  port: number;
  aeTitle: string;
  /** Associations open now. */
  associations(): number;
  /** Stops listening, lets operations in flight finish for `graceMs`, then drops every connection. */
  close(graceMs: number): Promise<void>;
}

/**
 * The C-STORE data set as it arrives: chunks kept up to the bound, counted and dropped past it
 * (the object is then answered 0xA700); past twice the bound the sender is not sending an image
 * but wasting the SCP's time, and `onAbsurd` ends the association.
 */
class Capture extends Writable {
  readonly chunks: Uint8Array[] = [];
  bytes = 0;
  constructor(private readonly maxBytes: number, readonly context: PresentationContext, private readonly onAbsurd: () => void) {
    // Never report back-pressure: dcmjs-dimse would await a 'drain' while the next PDU is processed, out of order.
    super({ highWaterMark: Number.MAX_SAFE_INTEGER });
  }
  get overLimit() {
    return this.bytes > this.maxBytes;
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void) {
    this.bytes += chunk.length;
    if (!this.overLimit) this.chunks.push(chunk);
    else this.chunks.length = 0;
    if (this.bytes > this.maxBytes * 2) this.onAbsurd();
    done();
  }
}

export async function startDimseServer<Principal>(options: DimseServerOptions<Principal>): Promise<DimseServer> {
  const { handlers, aeTitle } = options;
  const storageSyntaxes = new Set(options.storageTransferSyntaxes);
  const captures = new WeakMap<object, Capture>();
  const sockets = new Set<net.Socket>();
  const inFlight = new Set<Promise<unknown>>();
  // dcmjs-dimse logs every association and command at info on the console; Lantern logs what it decides itself.
  dimse.log.setLevel('silent');
  // The max PDU length announced in every A-ASSOCIATE-AC (dcmjs-dimse reads it from here).
  dimse.Implementation.setMaxPduLength(options.maxPduLength);

  class BoundedScp extends dimse.Scp {
    /** Set by dcmjs-dimse when the A-ASSOCIATE-RQ arrives (not in its typings). */
    declare association: Association | undefined;
    principal: Principal | undefined;
    busy = false;
    outstanding = 0;
    /** Bytes received since the last request was handed over: bounds commands and queries (pdu-guard.ts). */
    pending = 0;
    queue: Promise<void> = Promise.resolve();

    constructor(readonly socket: net.Socket) {
      super(socket, { connectTimeout: options.idleTimeoutMs, associationTimeout: options.idleTimeoutMs, pduTimeout: options.idleTimeoutMs });
    }

    get peer(): DimsePeer {
      return { callingAeTitle: this.association?.getCallingAeTitle().trim() ?? '', address: this.socket.remoteAddress ?? '' };
    }

    override associationRequested(association: Association) {
      void this.negotiate(association).catch((error) => {
        logger.error({ err: error }, 'DIMSE: association negotiation failed');
        this.drop();
      });
    }

    async negotiate(association: Association) {
      const reject = (result: number, source: number, reason: number, why: string) => {
        logger.warn({ callingAe: this.peer.callingAeTitle, address: this.peer.address, why }, 'DIMSE association rejected');
        this.sendAssociationReject(result, source, reason);
        this.socket.end();
      };
      if (this.busy) return reject(RejectResult.Transient, RejectSource.ServiceProviderPresentation, RejectReason.LocalLimitExceeded, `more than ${options.maxAssociations} associations at once`);
      if (association.getCalledAeTitle().trim() !== aeTitle) return reject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CalledAeNotRecognized, 'called AE title is not this SCP');
      const principal = await handlers.authorize(this.peer);
      if (principal === undefined) return reject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CallingAeNotRecognized, 'calling AE title not configured for this address');
      this.principal = principal;
      for (const { context } of association.getPresentationContexts()) {
        const abstract = context.getAbstractSyntaxUid();
        const wanted = abstract === SOP_CLASS.verification || abstract === SOP_CLASS.studyRootFind || abstract === SOP_CLASS.patientRootFind
          ? new Set(COMMAND_SYNTAXES) : abstract.startsWith(STORAGE_ROOT) ? storageSyntaxes : undefined;
        const syntax = context.getTransferSyntaxUids().find((uid) => wanted?.has(uid));
        if (!wanted) context.setResult(PresentationContextResult.RejectAbstractSyntaxNotSupported);
        else if (!syntax) context.setResult(PresentationContextResult.RejectTransferSyntaxesNotSupported);
        else context.setResult(PresentationContextResult.Accept, syntax);
      }
      // One operation at a time: no asynchronous operations window.
      association.setNegotiateAsyncOps(false);
      // A peer announcing 0 (no limit) must not make Lantern announce "no limit" back.
      const theirs = association.getMaxPduLength();
      if (theirs === 0 || theirs > options.maxPduLength) association.setMaxPduLength(options.maxPduLength);
      logger.info({ callingAe: this.peer.callingAeTitle, address: this.peer.address }, 'DIMSE association accepted');
      this.sendAssociationAccept();
    }

    override associationReleaseRequested() {
      this.sendAssociationReleaseResponse();
    }

    override abort() {
      this.socket.destroy();
    }

    override createStoreWritableStream(context: PresentationContext): Writable {
      return new Capture(options.maxObjectBytes, context, () => {
        logger.warn({ callingAe: this.peer.callingAeTitle }, `DIMSE: a data set past twice the ${options.maxObjectBytes}-byte bound; association aborted`);
        this.drop();
      });
    }

    override createDatasetFromStoreWritableStream(writable: Writable, context: PresentationContext, callback: (dataset: Dataset) => void) {
      // The data set is not parsed here: its bytes travel on as they are, ingest parses them off-thread.
      const placeholder = new dimse.Dataset({}, context.getAcceptedTransferSyntaxUid());
      captures.set(placeholder, writable as Capture);
      callback(placeholder);
    }

    override cEchoRequest(request: CEchoRequest, callback: (response: InstanceType<typeof dimse.responses.CEchoResponse>) => void) {
      this.serially(async () => {
        const response = dimse.responses.CEchoResponse.fromRequest(request);
        response.setStatus(STATUS.success);
        callback(response);
      });
    }

    override cStoreRequest(request: CStoreRequest, callback: (response: InstanceType<typeof dimse.responses.CStoreResponse>) => void) {
      const capture = captures.get(request.getDataset() as object);
      this.serially(async () => {
        const status = await this.storeOne(request, capture);
        const response = dimse.responses.CStoreResponse.fromRequest(request);
        respondWith(response, status);
        callback(response);
      });
    }

    async storeOne(request: CStoreRequest, capture: Capture | undefined): Promise<DimseStatus> {
      if (!capture || this.principal === undefined) return { status: STATUS.cannotUnderstand, comment: 'no data set received' };
      if (capture.overLimit) return { status: STATUS.outOfResources, comment: `data set of ${capture.bytes} bytes; at most ${options.maxObjectBytes}` };
      const sopClassUid = request.getAffectedSopClassUid();
      // A presentation context never proposed, or rejected, names no transfer syntax the bytes could be read in.
      if (capture.context?.getResult() !== PresentationContextResult.Accept || capture.context.getAbstractSyntaxUid() !== sopClassUid) {
        return { status: STATUS.sopClassNotSupported, comment: 'SOP class differs from the presentation context' };
      }
      const transferSyntaxUid = capture.context.getAcceptedTransferSyntaxUid()!;
      const sopInstanceUid = request.getAffectedSopInstanceUid();
      const file = part10Of({ sopClassUid, sopInstanceUid, transferSyntaxUid, sourceAeTitle: this.peer.callingAeTitle }, capture.chunks);
      capture.chunks.length = 0;
      try {
        return await handlers.store({ file, dataSetBytes: capture.bytes, sopClassUid, sopInstanceUid, transferSyntaxUid, callingAeTitle: this.peer.callingAeTitle }, this.principal);
      } catch (error) {
        logger.error({ err: error, callingAe: this.peer.callingAeTitle }, 'DIMSE C-STORE handler failed');
        return { status: STATUS.processingFailure, comment: 'the object could not be stored now; retry later' };
      }
    }

    override cFindRequest(request: CFindRequest, callback: (responses: InstanceType<typeof dimse.responses.CFindResponse>[]) => void) {
      this.serially(async () => {
        const model = request.getAffectedSopClassUid() === SOP_CLASS.studyRootFind ? 'study' : 'patient';
        const syntax = this.association?.getAcceptedPresentationContextFromRequest(request)?.getAcceptedTransferSyntaxUid() ?? TransferSyntax.ImplicitVRLittleEndian;
        const answer: FindAnswer = this.principal === undefined ? { matches: [], final: { status: STATUS.cannotUnderstand } }
          : await handlers.find({ model, identifier: request.getDataset()?.getElements() ?? {} }, this.principal).catch((error: unknown) => {
            logger.error({ err: error, callingAe: this.peer.callingAeTitle }, 'DIMSE C-FIND handler failed');
            return { matches: [], final: { status: STATUS.processingFailure, comment: 'the query could not be answered now; retry later' } };
          });
        const responses = answer.matches.map((match) => {
          const response = dimse.responses.CFindResponse.fromRequest(request);
          response.setAffectedSopClassUid(request.getAffectedSopClassUid());
          response.setStatus(STATUS.pending);
          response.setDataset(new dimse.Dataset(match, syntax));
          return response;
        });
        const final = dimse.responses.CFindResponse.fromRequest(request);
        final.setAffectedSopClassUid(request.getAffectedSopClassUid());
        respondWith(final, answer.final ?? { status: STATUS.success });
        callback([...responses, final]);
      });
    }

    /**
     * Runs one operation after the ones before it (each answers even when its handler throws:
     * 0x0110, processing failure); a peer that piles up operations is dropped.
     */
    serially(operation: () => Promise<void>) {
      this.pending = 0;
      if (++this.outstanding > MAX_OUTSTANDING) {
        logger.warn({ callingAe: this.peer.callingAeTitle }, `DIMSE: more than ${MAX_OUTSTANDING} operations outstanding; association aborted`);
        this.drop();
        return;
      }
      const run = this.queue.then(async () => {
        if (this.socket.destroyed) return;
        try {
          await operation();
        } catch (error) {
          logger.error({ err: error, callingAe: this.peer.callingAeTitle }, 'DIMSE operation failed');
        } finally {
          this.outstanding--;
        }
      });
      this.queue = run;
      inFlight.add(run);
      void run.finally(() => inFlight.delete(run));
    }

    drop() {
      if (this.socket.destroyed) return;
      if (this.association) this.sendAbort(constants.AbortSource.ServiceProvider, constants.AbortReason.NotSpecified);
      this.socket.destroy();
    }
  }

  /** Sets a final status; a handler failure's comment is cut to what (0000,0902) holds. */
  function respondWith(response: InstanceType<typeof dimse.responses.Response>, status: DimseStatus) {
    response.setStatus(status.status);
    if (status.comment) response.setErrorComment(status.comment.slice(0, COMMENT_CHARS));
  }

  const server = net.createServer((socket) => {
    // Beyond twice the limit a connection is not even answered: rejecting costs a little memory each.
    if (sockets.size >= options.maxAssociations * 2) {
      socket.destroy();
      return;
    }
    const scp = new BoundedScp(socket);
    scp.busy = sockets.size >= options.maxAssociations;
    sockets.add(socket);
    // What dcmjs-dimse's own Server sets: without it the association timeout never starts.
    Object.assign(scp, { connected: true, connectedTime: Date.now() });
    socket.prependListener('data', pduGuard({
      maxPduLength: options.maxPduLength,
      maxNonStoreBytes: MAX_NON_STORE_BYTES,
      storing: () => (scp as unknown as { dimse?: { getCommandFieldType(): number } }).dimse?.getCommandFieldType() === C_STORE_RQ,
      counter: scp,
      onViolation: (why) => {
        logger.warn({ address: socket.remoteAddress, why }, 'DIMSE: connection dropped');
        scp.drop();
      },
    }));
    scp.on('networkError', () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  });
  server.maxConnections = options.maxAssociations * 2;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    host: options.host,
    port,
    aeTitle,
    associations: () => sockets.size,
    async close(graceMs) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.race([Promise.allSettled([...inFlight]), new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
