import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startApiRole, type ApiRole } from '../../api/server.ts';
import { loadConfig, repoRoot } from '../../config.ts';
import { startPrivateRedis } from '../../queue/redis-server.ts';
import type { ApplicabilityNote, FindingInput } from '../../store/types.ts';
import { apiClient } from './api-client.ts';
import { withFreshUids } from './dicom-builder.ts';
import { files } from './shared-data.ts';

export interface TestApi extends ApiRole {
  client: ReturnType<typeof apiClient>;
  /** Uploads a real radiograph as a new study (fresh UIDs) over STOW-RS; its AI job waits, as no worker runs. */
  addStudy(file?: string): Promise<{ studyInstanceUid: string; sopInstanceUid: string }>;
  /**
   * Persists a read-assist model's finding (default pneumonia-cxr, its first label) exactly as
   * the results consumer does when a worker hands it back; positive above the card's operating point.
   * With `notApplicable`, the finding the worker writes when the image is outside the card's population.
   */
  addFinding(sopInstanceUid: string, finding: { probability: number; model?: string; notApplicable?: ApplicabilityNote }): Promise<FindingInput>;
}

interface ReadAssistCardFacts {
  id: string;
  version: string;
  weights: { sha256: string };
  labels: { id: string; display: string }[];
  operatingPoints: { name: string; threshold: number }[];
  preprocessing: { id: string; version: string };
}

const card = (id: string) => JSON.parse(fs.readFileSync(path.join(repoRoot, 'models', id, 'model.json'), 'utf8')) as ReadAssistCardFacts;

let studies = 0;

/**
 * The API role in this process, as `lantern api` runs it: PGlite under a temp folder, a
 * private redis-server, the results consumer, no workers. Route tests talk to it over HTTP;
 * its store and events are at hand for what only a worker or the clock would otherwise do.
 */
export async function startTestApi(): Promise<TestApi> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-api-test-'));
  const redis = await startPrivateRedis(path.join(dataDir, 'redis'));
  const config = loadConfig({}, { port: 0, dataDir, blobDir: path.join(dataDir, 'blobs'), redisUrl: redis.url });
  let role: ApiRole;
  try {
    role = await startApiRole({ ...config, redisUrl: redis.url });
  } catch (error) {
    await redis.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const client = apiClient(role.url);
  return {
    ...role,
    client,
    async addStudy(file = files.chestRaw) {
      const { status, body } = await client.stow([withFreshUids(fs.readFileSync(file), ++studies)]);
      const stored = body.stored?.[0];
      if (status !== 200 || !stored) throw new Error(`upload failed: ${status} ${JSON.stringify(body)}`);
      return { studyInstanceUid: stored.studyInstanceUid, sopInstanceUid: stored.sopInstanceUid };
    },
    async addFinding(sopInstanceUid, { probability, model = 'pneumonia-cxr', notApplicable }) {
      const c = card(model);
      const [label] = c.labels;
      const [operatingPoint] = c.operatingPoints;
      const finding: FindingInput = {
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
      await role.store.recordFindings(sopInstanceUid, [finding], `model:${c.id}@${c.version}`);
      return finding;
    },
    async stop() {
      await role.stop();
      await redis.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
