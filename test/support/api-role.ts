import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROLES, type Role } from '../../contract/identity.ts';
import { DEFAULT_SITE } from '../../contract/sites.ts';
import { startApiRole, type ApiRole } from '../../roles/api.ts';
import { loadConfig, repoRoot, type LanternConfig } from '../../config.ts';
import { startPrivateRedis } from '../../queue/redis-server.ts';
import { Queue } from 'bullmq';
import { findingsSrUid } from '../../dicom/sr/ai-results-sr.ts';
import { READ_ASSIST_QUEUE, readAssistJobId } from '../../queue/jobs.ts';
import { waitFor } from './stack.ts';
import type { ApplicabilityNote, FindingInput } from '../../store/types.ts';
import { apiClient } from './api-client.ts';
import { withFreshUids } from './dicom-builder.ts';
import { copyPgliteTemplate } from './pglite-template.ts';
import { files } from './shared-data.ts';

export interface TestApi extends ApiRole {
  /** What the role runs with: its redis, blob folder and data folder, for another role (a worker) to join it. */
  config: LanternConfig & { redisUrl: string };
  /** Signed in as `tester`, who holds every role. */
  client: ReturnType<typeof apiClient>;
  /** `tester`'s bearer token, for requests a test makes by hand. */
  token: string;
  /** `Authorization` for such requests. */
  authorization: { authorization: string };
  /** A signed-in client of a new user with exactly `roles` at `sites` (default: the one default site; the audited actor is `username`). */
  signIn(username: string, roles: Role[], sites?: string[]): Promise<{ client: ReturnType<typeof apiClient>; token: string }>;
  /**
   * Uploads a real radiograph as a new study (fresh UIDs) over STOW-RS, as `by` (default
   * `tester`; the study is filed under its first site); its AI jobs wait, as no worker runs. Resolves once the
   * models its header rules out are answered at ingest and their SRs stored (answeredAtIngest).
   */
  addStudy(file?: string, by?: ReturnType<typeof apiClient>): Promise<{ studyInstanceUid: string; sopInstanceUid: string }>;
  /**
   * Waits until the models the instance's header rules out (the children's model on a film that records no age) have
   * been answered at ingest, moments after the upload's answer (pipeline/ingest.ts), and the AI results SR of every
   * model's findings on it is stored in the study (the API role's SR worker writes it). Resolves with those SRs'
   * SOP Instance UIDs. addStudy waits for it; a test uploading by hand calls it, so that it starts from a study where
   * nothing more happens by itself (no worker runs here).
   */
  answeredAtIngest(sopInstanceUid: string): Promise<string[]>;
  /**
   * Persists a read-assist model's finding (default pneumonia-cxr, its first label) exactly as
   * the results consumer does when a worker hands it back; positive above the card's operating point.
   * With `notApplicable`, the finding the worker writes when the image is outside the card's population.
   * Every other model served for CR that has not answered yet declines the image ("not applicable"), so the
   * instance is settled as it would be once all its jobs have answered; a model answered at ingest (the
   * children's model on a film that records no age) keeps that answer. Asked for such a model, the finding is
   * recorded beside its answer: one no worker would write, made up for the test. No SR is written for these.
   */
  addFinding(sopInstanceUid: string, finding: { probability: number; model?: string; notApplicable?: ApplicabilityNote }): Promise<FindingInput>;
}

interface ReadAssistCardFacts {
  id: string;
  version: string;
  task: string;
  deployment?: string;
  modalities?: string[];
  weights: { sha256: string };
  labels: { id: string; display: string }[];
  operatingPoints: { name: string; threshold: number }[];
  preprocessing: { id: string; version: string };
}

const card = (id: string) => JSON.parse(fs.readFileSync(path.join(repoRoot, 'models', id, 'model.json'), 'utf8')) as ReadAssistCardFacts;

/** The read-assist models the API queues a clinical CR job for (clinical, CR among their modalities). */
const servedForCr = () => fs.readdirSync(path.join(repoRoot, 'models'))
  .filter((id) => fs.existsSync(path.join(repoRoot, 'models', id, 'model.json')))
  .map(card)
  .filter((c) => c.task === 'read-assist' && (c.deployment ?? 'clinical') === 'clinical' && c.modalities?.includes('CR'));

const declinedInTest = { code: 'OUTSIDE_POPULATION_TEST', text: 'declined in this test', textZh: '本测试中不适用' };

let studies = 0;

/**
 * The API role in this process, as `lantern api` runs it: PGlite under a temp folder (a copy
 * of the migrated template, ./pglite-template.ts), a
 * private redis-server, the results consumer, no workers (`overrides` adjust its config, as
 * the environment would). Route tests talk to it over HTTP;
 * its store and events are at hand for what only a worker or the clock would otherwise do.
 */
export async function startTestApi(overrides: Partial<LanternConfig> = {}): Promise<TestApi> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-api-test-'));
  if (!overrides.databaseUrl) await copyPgliteTemplate(path.join(dataDir, 'pglite'));
  const redis = await startPrivateRedis(path.join(dataDir, 'redis'));
  const config = loadConfig({}, { port: 0, dataDir, blobDir: path.join(dataDir, 'blobs'), redisUrl: redis.url, ...overrides });
  let role: ApiRole;
  try {
    role = await startApiRole({ ...config, redisUrl: redis.url });
  } catch (error) {
    await redis.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const signIn = async (username: string, roles: Role[], sites: string[] = [DEFAULT_SITE]) => {
    const user = { username, displayName: username, roles, sites };
    await role.store.createUser({ ...user, password: randomBytes(16).toString('hex') }, 'test');
    const { token } = await role.store.createApiToken(user, 'test', 1);
    return { client: apiClient(role.url, token), token };
  };
  const { client, token } = await signIn('tester', [...ROLES]);
  const readAssist = new Queue(READ_ASSIST_QUEUE, { connection: { url: redis.url }, prefix: config.queuePrefix });
  /** See TestApi.answeredAtIngest: every model still pending has its job (so the others were answered), every model that answered has its SR. */
  const answeredAtIngest = (sopInstanceUid: string) => waitFor(async () => {
    const { rows: [instance] } = await role.store.db.query<{ pending: string[] }>('select pending_models as pending from instances where sop_instance_uid = $1', [sopInstanceUid]);
    if (!instance) throw new Error(`instance ${sopInstanceUid} is not stored`);
    for (const key of instance.pending) if (!await readAssist.getJob(readAssistJobId(sopInstanceUid, key))) return undefined;
    const { rows } = await role.store.db.query<{ model: { id: string; version: string; weightsSha256: string; preprocessing: string } }>(
      `select distinct on (model->>'id', model->>'version') model from findings where sop_instance_uid = $1`, [sopInstanceUid]);
    const documents = rows.map((r) => findingsSrUid(sopInstanceUid, r.model));
    return (await role.store.storedInstances(documents)).length === documents.length ? documents : undefined;
  }, 'the models answered at ingest, and their SRs', 20_000);
  return {
    ...role,
    config: { ...config, redisUrl: redis.url },
    client,
    token,
    authorization: { authorization: `Bearer ${token}` },
    signIn,
    answeredAtIngest,
    async addStudy(file = files.chestRaw, by = client) {
      const { status, body } = await by.stow([withFreshUids(fs.readFileSync(file), ++studies)]);
      const stored = body.stored?.[0];
      if (status !== 200 || !stored) throw new Error(`upload failed: ${status} ${JSON.stringify(body)}`);
      await answeredAtIngest(stored.sopInstanceUid);
      return { studyInstanceUid: stored.studyInstanceUid, sopInstanceUid: stored.sopInstanceUid };
    },
    async addFinding(sopInstanceUid, { probability, model = 'pneumonia-cxr', notApplicable }) {
      const c = card(model);
      const made = findingOf(sopInstanceUid, c, probability, notApplicable);
      const { rows } = await role.store.db.query<{ id: string }>(`select distinct model->>'id' as id from findings where sop_instance_uid = $1`, [sopInstanceUid]);
      const answered = new Set(rows.map((r) => r.id));
      // A model answered at ingest (its header gate) keeps its answer.
      for (const other of servedForCr().filter((c) => c.id !== model && !answered.has(c.id))) {
        await role.store.recordFindings(sopInstanceUid, [findingOf(sopInstanceUid, other, 0, declinedInTest)], `model:${other.id}@${other.version}`);
      }
      await role.store.recordFindings(sopInstanceUid, [made], `model:${c.id}@${c.version}`);
      return made;
    },
    async stop() {
      await readAssist.close();
      await role.stop();
      await redis.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The finding a worker hands back for model `c` on an instance: positive above the card's operating point, or "not applicable". */
function findingOf(sopInstanceUid: string, c: ReadAssistCardFacts, probability: number, notApplicable?: ApplicabilityNote): FindingInput {
  const [label] = c.labels;
  const [operatingPoint] = c.operatingPoints;
  return {
    id: `test-${sopInstanceUid}-${c.id}@${c.version}-${label.id}`,
    label: label.id,
    display: label.display,
    probability,
    positive: probability >= operatingPoint.threshold,
    refer: false,
    operatingPoint: { name: operatingPoint.name, threshold: operatingPoint.threshold },
    model: { id: c.id, version: c.version, weightsSha256: c.weights.sha256, preprocessing: `${c.preprocessing.id}@${c.preprocessing.version}` },
    timingMs: { decode: 1, preprocess: 1, inference: 1, postprocess: 1 },
    ...(notApplicable && { probability: null, positive: false, applicability: { applicable: false, reason: notApplicable, caveats: [] } }),
  };
}
