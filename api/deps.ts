import type { Redis } from 'ioredis';
import type { LanternConfig } from '../config.ts';
import type { OffThreadDecoder } from '../dicom/decode/off-thread/index.ts';
import type { ModelRegistry } from '../inference/registry.ts';
import type { ReadAssistQueue } from '../queue/enqueue.ts';
import type { BlobStore } from '../store/blobs.ts';
import type { Store } from '../store/store.ts';
import type { InstanceWrites } from '../pipeline/instance-writes.ts';
import type { AiResultsSr } from '../pipeline/ai-results-sr.ts';
import type { DegradationController } from '../pipeline/degradation-controller.ts';
import type { Surveillance } from '../pipeline/surveillance.ts';
import type { CdsClients } from './cds-hooks/clients.ts';
import type { ApiMetrics } from './metrics.ts';
import type { OidcClient } from './oidc.ts';
import type { StudyEvents } from './study-events.ts';

/** The request body bound when the config does not set one (config.ts: LANTERN_MAX_JSON_BYTES). */
export const DEFAULT_MAX_JSON_BYTES = 1024 * 1024;

/** What the routes need, built once by the API role and handed to `createApp`. */
export interface ApiDeps {
  config: Pick<LanternConfig, 'maxUploadBytes' | 'viewerDir' | 'sessionIdleMinutes' | 'sessionAbsoluteHours'> & Partial<Pick<LanternConfig, 'maxJsonBodyBytes' | 'dicomLimits' | 'dataDir' | 'allowedHosts' | 'allowedOrigins' | 'rateLimitPerMinute' | 'loginRateLimitPerMinute' | 'sharedRateLimits' | 'queuePrefix' | 'tlsCertFile' | 'oidc'>>;
  store: Store;
  blobs: BlobStore;
  registry: Pick<ModelRegistry, 'models' | 'forModality' | 'forStudy' | 'latest' | 'shown' | 'triagePolicy'>;
  readAssist: ReadAssistQueue;
  redis: Redis;
  instanceWrites: InstanceWrites;
  frameDecoder: OffThreadDecoder;
  /** Study changes after they commit, for live views (the store announces them). */
  events: StudyEvents;
  /** The hospital's OpenID Connect provider, when `config.oidc` names one (built from it by the API role). */
  oidc?: OidcClient;
  /**
   * Writes AI results as DICOM SR into the study (pipeline/ai-results-sr.ts): a review asks for its document, and
   * ingest for that of a model answered from the header alone (pipeline/ingest.ts). Absent: none are written.
   */
  aiResultsSr?: Pick<AiResultsSr, 'afterReview' | 'afterFindings'>;
  /** The EHRs trusted to call the CDS Hooks services with a signed JWT (`config.cdsClientsFile`; api/cds-hooks/clients.ts). */
  cdsClients?: CdsClients;
  /** Multi-point surveillance (pipeline/surveillance.ts), when the models folder ships a surveillance policy. */
  surveillance?: Surveillance;
  /** The latency promise's controller (pipeline/degradation-controller.ts): `/ready` and the worklist's admin notice read its last measurement. Absent: not measured. */
  latency?: Pick<DegradationController, 'snapshot'>;
  /** The process's Prometheus metrics (api/metrics.ts), made by the API role with the process's own; absent: the app makes its own. */
  metrics?: ApiMetrics;
  /** The installation's de-identification key (dicom/deidentify/key.ts): model teams' pseudonyms derive from it. */
  deidentifyKey: Uint8Array;
}
