/**
 * WADO-RS rendered with a viewport decodes only the resolution the box needs: a viewer's first
 * look at RG1 (1841 × 1955 JPEG 2000) in a 460 × 489 box comes from level 2 of the image's
 * pyramid (461 × 489 decoded), and is the full decode's rendering resized to the same size up to
 * what a coarser level implies — against the API role in this process, over HTTP, with its real
 * off-thread decoder.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOffThreadDecoder } from '../../dicom/decode/off-thread/index.ts';
import { createBlobStore } from '../../store/blobs.ts';
import { ALL_SITES } from '../../store/sites.ts';
import { startTestApi, type TestApi } from '../../test/support/api-role.ts';
import { files } from '../../test/support/shared-data.ts';
import { frameAnswers } from '../frame-answer.ts';
import { fittedSize } from './rendered.ts';

/**
 * How far the level-2 rendering may stand from the full one resized alike, in 8-bit grey levels:
 * the wavelet's low-pass band and Lanczos from full resolution weigh neighbours differently, so
 * edges differ by a few levels (measured on RG1: mean 1.1, 99th percentile 6, max 40 at the
 * collimator edge); the mean and the 99th percentile say the picture is the same.
 */
const MEAN_LEVELS = 2;
const P99_LEVELS = 10;

describe('WADO-RS rendered at a viewport', () => {
  let api: TestApi;
  let chest: { study: string; series: string; sop: string };
  const url = () => `${api.url}/dicomweb/studies/${chest.study}/series/${chest.series}/instances/${chest.sop}/rendered`;
  const png = async (query: string) => {
    const response = await fetch(`${url()}${query}`, { headers: { ...api.authorization, accept: 'image/png' } });
    expect(response.status).toBe(200);
    return { cacheControl: response.headers.get('cache-control'), serverTiming: response.headers.get('server-timing'), bytes: new Uint8Array(await response.arrayBuffer()) };
  };

  beforeAll(async () => {
    api = await startTestApi();
    const { body } = await api.client.stow([files.chestJ2k]);
    const s = body.stored![0];
    chest = { study: s.studyInstanceUid, series: s.seriesInstanceUid, sop: s.sopInstanceUid };
  }, 120_000);
  afterAll(() => api?.stop());

  it('when a box a quarter of the film is asked, then the frame decoded for it is JPEG 2000 level 2', async () => {
    const instance = await api.store.getInstance(chest.sop, ALL_SITES);
    const decoder = createOffThreadDecoder();
    try {
      const frames = frameAnswers({ blobs: createBlobStore(api.config.blobDir), frameDecoder: decoder });
      const box = fittedSize(instance.image!, '460,489');
      expect(box).toEqual({ columns: 460, rows: 488 });
      const frame = await frames.decoded(instance, 1, { atLeast: box });
      expect({ scale: frame.scale, columns: frame.columns, rows: frame.rows }).toEqual({ scale: 4, columns: 461, rows: 489 });
    } finally {
      await decoder.close();
    }
  });

  it('when RG1 is rendered at a viewport, then it has the full image\'s fitted size and the pixels of the full rendering resized alike', async () => {
    const reduced = await png('?viewport=460,489');
    const full = await png('');
    expect(reduced.cacheControl).toMatch(/^private\b/);
    // What the server spent, for a client's resource timing to tell from the rest of its wait.
    expect(reduced.serverTiming).toMatch(/^decode;dur=\d+\.\d, render;dur=\d+\.\d$/);
    expect(await sharp(reduced.bytes).metadata()).toMatchObject({ width: 460, height: 488, channels: 1 });
    // sharp writes raw pixels as sRGB unless told otherwise: one grey channel each.
    const actual = await sharp(reduced.bytes).extractChannel(0).raw().toBuffer();
    const expected = await sharp(full.bytes).resize(460, 488, { fit: 'fill' }).extractChannel(0).raw().toBuffer();
    const differences = Array.from(actual, (v, i) => Math.abs(v - expected[i])).sort((a, b) => a - b);
    const mean = differences.reduce((sum, d) => sum + d, 0) / differences.length;
    const p99 = differences[Math.floor(differences.length * 0.99)];
    expect(mean).toBeLessThan(MEAN_LEVELS);
    expect(p99).toBeLessThanOrEqual(P99_LEVELS);
  });

  it('when the viewport is out of range, then it is a 422 naming it', async () => {
    const response = await fetch(`${url()}?viewport=5000,10`, { headers: api.authorization });
    expect(response.status).toBe(422);
    expect((await response.json() as { error: { code: string } }).error.code).toBe('VALIDATION_FAILED');
  });
});
