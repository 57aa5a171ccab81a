/**
 * WADO-RS against the API role in this process, over HTTP: metadata that describes the frames
 * served, retrieve of the bytes as received, frames by Accept (decoded, or the stored
 * bitstream), frame lists, rendered images, bulk data — and the real `dicomweb-client` package
 * (OHIF's DICOMweb client) reading them.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { api as dicomweb } from 'dicomweb-client';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../test/support/api-role.ts';
import { buildCr } from '../../test/support/dicom-builder.ts';
import { fetchXhr } from '../../test/support/fetch-xhr.ts';
import { htj2kEncode } from '../../test/support/jpeg2000.ts';
import { files, sharedData } from '../../test/support/shared-data.ts';

type Dataset = Record<string, { vr: string; Value?: unknown[]; BulkDataURI?: string }>;
const first = (d: Dataset, tag: string) => d[tag]?.Value?.[0];
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A colour JPEG baseline US of 8 frames (YBR_FULL), fragmented, no offset table. */
const usJpeg = path.join(sharedData, 'dicom/cornerstone-dicomparser/testImages/encapsulated/multi-frame/IM00001.fragmented_no_bot_jpeg_baseline.50.dcm');
/** Uncompressed YBR_FULL_422, which Lantern serves as YBR_FULL. */
const usYbr422 = path.join(sharedData, 'dicom/cornerstone-wadoloader/testImages/US-YBR_FULL_422-EVRLE.dcm');

/** The parts of a multipart/related body, each with its headers (lower-cased names) and bytes. */
function parts(contentType: string, body: Uint8Array): { headers: Record<string, string>; bytes: Uint8Array }[] {
  const boundary = /boundary=("?)([^";]+)\1/.exec(contentType)![2];
  const buffer = Buffer.from(body);
  const out: { headers: Record<string, string>; bytes: Uint8Array }[] = [];
  let at = buffer.indexOf(`--${boundary}`);
  while (at >= 0 && buffer.subarray(at + boundary.length + 2, at + boundary.length + 4).toString() !== '--') {
    const headEnd = buffer.indexOf('\r\n\r\n', at);
    const headers = Object.fromEntries(buffer.subarray(at + boundary.length + 4, headEnd).toString('latin1').split('\r\n')
      .map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
    const next = buffer.indexOf(`\r\n--${boundary}`, headEnd);
    out.push({ headers, bytes: new Uint8Array(buffer.subarray(headEnd + 4, next)) });
    at = next + 2;
  }
  return out;
}

describe('WADO-RS', () => {
  let api: TestApi;
  const stored: Record<string, { study: string; series: string; sop: string }> = {};
  /** The AI results SRs stored in each film's study by ingest's answer (api.answeredAtIngest). */
  const aiSrs: Record<string, string[]> = {};
  let htj2kCodestream: Uint8Array;
  const url = (name: string) => `${api.url}/dicomweb/studies/${stored[name].study}/series/${stored[name].series}/instances/${stored[name].sop}`;
  const get = async (target: string, accept?: string) => {
    const response = await fetch(target, { headers: { ...api.authorization, ...(accept && { accept }) } });
    return { status: response.status, type: response.headers.get('content-type') ?? '', headers: response.headers, bytes: new Uint8Array(await response.arrayBuffer()) };
  };
  const json = <T>(bytes: Uint8Array) => JSON.parse(Buffer.from(bytes).toString('utf8')) as T;

  beforeAll(async () => {
    api = await startTestApi();
    const names = { ct: files.ct, chest: files.chestJ2k, raw: files.chestRaw, us: usJpeg, ybr: usYbr422 };
    const { body } = await api.client.stow(Object.values(names));
    htj2kCodestream = await htj2kEncode({ width: 64, height: 48, channels: 1, maxValue: 4095, samples: Uint16Array.from({ length: 64 * 48 }, (_, i) => (i * 37) % 4096) }, 12, { lossless: true, decompositions: 3 });
    const grey = { rows: 48, columns: 64, bitsAllocated: 16, bitsStored: 12, pixelRepresentation: 0, photometricInterpretation: 'MONOCHROME2' };
    const htj2k = (await api.client.stow([buildCr('1.2.826.0.1.3680043.10.1.16.30', '1.2.840.10008.1.2.4.201', grey, [htj2kCodestream])])).body.stored![0];
    stored.htj2k = { study: htj2k.studyInstanceUid, series: htj2k.seriesInstanceUid, sop: htj2k.sopInstanceUid };
    Object.keys(names).forEach((name, i) => {
      const s = body.stored![i];
      stored[name] = { study: s.studyInstanceUid, series: s.seriesInstanceUid, sop: s.sopInstanceUid };
    });
    // A model the header rules out (the children's model on a chest film that records no age) is answered at ingest
    // and its AI results SR stored in the study: waited for, so that nothing changes under the tests.
    for (const name of Object.keys(stored)) aiSrs[name] = await api.answeredAtIngest(stored[name].sop);
  }, 120_000);
  afterAll(() => api?.stop());

  it('when a study\'s metadata is asked, then each instance\'s attributes come as DICOM JSON, bulk data by absolute URI', async () => {
    const { status, type, bytes } = await get(`${api.url}/dicomweb/studies/${stored.ct.study}/metadata`);
    expect(status).toBe(200);
    expect(type).toBe('application/dicom+json');
    const [ct] = json<Dataset[]>(bytes);
    expect(ct['00100010']).toEqual({ vr: 'PN', Value: [{ Alphabetic: 'MISTER^CT' }] });
    expect(ct['7FE00010'].BulkDataURI).toBe(`${url('ct')}/bulk/7FE00010`);
    expect(first(ct, '00081190')).toBe(url('ct'));
    const pixels = await get(ct['7FE00010'].BulkDataURI!);
    expect(pixels.status).toBe(200);
    expect(parts(pixels.type, pixels.bytes)[0].bytes.byteLength).toBe(512 * 512 * 2);
  });

  it('when a compressed film\'s metadata is read with its frames, then they agree: syntax, colour, bits and size', async () => {
    for (const name of ['chest', 'us', 'ybr']) {
      const [meta] = json<Dataset[]>((await get(`${url(name)}/metadata`)).bytes);
      const frame = await get(`${url(name)}/frames/1`, 'multipart/related; type=application/octet-stream; transfer-syntax=*');
      expect(frame.status, name).toBe(200);
      const [part] = parts(frame.type, frame.bytes);
      expect(part.headers['content-type']).toBe('application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1');
      expect(first(meta, '00020010')).toBe('1.2.840.10008.1.2.1');
      const samples = Number(first(meta, '00280010')) * Number(first(meta, '00280011')) * Number(first(meta, '00280002'));
      expect(part.bytes.byteLength, name).toBe(samples * Number(first(meta, '00280100')) / 8);
      // What the viewer's raw form says of the same frame: the photometric interpretation after decoding.
      const raw = await get(`${url(name)}/frames/1`);
      expect(first(meta, '00280004'), name).toBe(raw.headers.get('x-photometric-interpretation'));
    }
    const [chest] = json<Dataset[]>((await get(`${url('chest')}/metadata`)).bytes);
    expect(first(chest, '00083002')).toBe('1.2.840.10008.1.2.4.91');
    expect(first(chest, '00280102')).toBe(Number(first(chest, '00280101')) - 1);
    const [us] = json<Dataset[]>((await get(`${url('us')}/metadata`)).bytes);
    expect([first(us, '00280004'), first(us, '00280006')]).toEqual(['RGB', 0]);
  });

  it('when a frame list is asked, then one part per frame comes in order, each with its Content-Location', async () => {
    const { status, type, bytes } = await get(`${url('us')}/frames/3,1,8`, 'multipart/related; type="application/octet-stream"');
    expect(status).toBe(200);
    expect(type).toMatch(/^multipart\/related; type="application\/octet-stream"/);
    const list = parts(type, bytes);
    expect(list.map((p) => p.headers['content-location'])).toEqual([3, 1, 8].map((n) => `${url('us')}/frames/${n}`));
    expect(list.every((p) => p.bytes.byteLength === 320 * 240 * 3)).toBe(true);
    const alone = await get(`${url('us')}/frames/1`, 'multipart/related; type="application/octet-stream"');
    expect(sha(list[1].bytes)).toBe(sha(parts(alone.type, alone.bytes)[0].bytes));
    expect((await get(`${url('us')}/frames/1,9`)).status).toBe(404);
    expect((await get(`${url('us')}/frames/${Array.from({ length: 65 }, () => 1).join(',')}`)).status).toBe(400);
  });

  it('when the stored bitstream is asked by its media type, then it comes as stored; another one is a 406 naming what is available', async () => {
    const jp2 = await get(`${url('chest')}/frames/1`, 'multipart/related; type="image/jp2"');
    expect(jp2.status).toBe(200);
    const [part] = parts(jp2.type, jp2.bytes);
    expect(part.headers['content-type']).toBe('image/jp2; transfer-syntax=1.2.840.10008.1.2.4.91');
    expect(Buffer.from(part.bytes.subarray(0, 4)).toString('hex')).toBe('ff4fff51');
    const jpeg = await get(`${url('us')}/frames/2`, 'multipart/related; type="image/jpeg"');
    expect(Buffer.from(parts(jpeg.type, jpeg.bytes)[0].bytes.subarray(0, 2)).toString('hex')).toBe('ffd8');
    const jphc = await get(`${url('htj2k')}/frames/1`, 'multipart/related; type="image/jphc"');
    expect(parts(jphc.type, jphc.bytes)[0].headers['content-type']).toBe('image/jphc; transfer-syntax=1.2.840.10008.1.2.4.201');
    // As stored: the codestream, plus the fragment's pad byte when its length is odd.
    expect(sha(parts(jphc.type, jphc.bytes)[0].bytes.subarray(0, htj2kCodestream.length))).toBe(sha(htj2kCodestream));
    const refused = await get(`${url('ct')}/frames/1`, 'multipart/related; type="image/jp2"');
    expect(refused.status).toBe(406);
    expect(json<{ error: { code: string; message: string } }>(refused.bytes).error.message).toMatch(/available: multipart\/related; type="application\/octet-stream"; transfer-syntax=1\.2\.840\.10008\.1\.2\.1/);
  });

  it('when Lantern\'s viewer asks for a frame as before, then it gets the raw pixels with their geometry', async () => {
    const { status, type, headers, bytes } = await get(`${url('ct')}/frames/1`, 'application/octet-stream');
    expect(status).toBe(200);
    expect(type).toBe('application/octet-stream');
    expect([headers.get('x-rows'), headers.get('x-columns'), headers.get('x-bits-allocated')]).toEqual(['512', '512', '16']);
    expect(bytes.byteLength).toBe(512 * 512 * 2);
  });

  it('when instances are retrieved, then each part holds the bytes as received, labelled with their transfer syntax', async () => {
    const { status, type, bytes } = await get(url('chest'));
    expect(status).toBe(200);
    expect(type).toMatch(/^multipart\/related; type="application\/dicom"/);
    const [part] = parts(type, bytes);
    expect(part.headers['content-type']).toBe('application/dicom; transfer-syntax=1.2.840.10008.1.2.4.91');
    expect(sha(part.bytes)).toBe(sha(fs.readFileSync(files.chestJ2k)));
    const study = await get(`${api.url}/dicomweb/studies/${stored.raw.study}`, 'multipart/related; type="application/dicom"; transfer-syntax=*');
    // The film as received, and the AI results SR of the children's model, answered at ingest (no age recorded).
    expect(aiSrs.raw).toHaveLength(1);
    const studyParts = parts(study.type, study.bytes);
    expect(studyParts).toHaveLength(2);
    expect(studyParts.map((p) => sha(p.bytes))).toContain(sha(fs.readFileSync(files.chestRaw)));
    expect(studyParts.filter((p) => Buffer.from(p.bytes).includes(aiSrs.raw[0]))).toHaveLength(1);
    const transcode = await get(url('chest'), 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1');
    expect(transcode.status).toBe(406);
  });

  it('when a rendered frame is asked, then it is a JPEG by default or a PNG, windowed and fitted to the viewport', async () => {
    const jpeg = await get(`${url('chest')}/rendered?viewport=256,256`);
    expect(jpeg.type).toBe('image/jpeg');
    expect(await sharp(jpeg.bytes).metadata()).toMatchObject({ format: 'jpeg', width: 241, height: 256 });
    const png = await get(`${url('ct')}/frames/1/rendered?window=40,400`, 'image/png');
    const meta = await sharp(png.bytes).metadata();
    expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(['png', 512, 512, 1]);
    const wide = await sharp((await get(`${url('ct')}/frames/1/rendered?window=40,4000`, 'image/png')).bytes).stats();
    expect(wide.channels[0].stdev).not.toBeCloseTo((await sharp(png.bytes).stats()).channels[0].stdev, 0);
    expect((await get(`${url('ct')}/rendered`, 'image/gif')).status).toBe(406);
    expect((await get(`${url('ct')}/rendered?window=abc`)).status).toBe(422);
  });

  it('when an instance stored before its DICOM JSON was kept is asked, then it is computed from its bytes and kept', async () => {
    await api.store.db.query('update instances set dicom_json = null where sop_instance_uid = $1', [stored.raw.sop]);
    const [meta] = json<Dataset[]>((await get(`${url('raw')}/metadata`)).bytes);
    expect(first(meta, '00080060')).toBe('CR');
    const { rows: [row] } = await api.store.db.query<{ kept: boolean }>('select dicom_json is not null as kept from instances where sop_instance_uid = $1', [stored.raw.sop]);
    expect(row.kept).toBe(true);
  });

  it('when a user of another site or nobody asks, then there is nothing there', async () => {
    await api.store.createSite({ id: 'south', name: 'South', level: 'village' }, 'test');
    const south = await api.signIn('south-reader', ['radiologist'], ['south']);
    for (const target of [`${url('ct')}/metadata`, url('ct'), `${url('ct')}/frames/1`, `${url('ct')}/rendered`]) {
      expect((await fetch(target, { headers: { authorization: `Bearer ${south.token}` } })).status, target).toBe(404);
      expect((await fetch(target)).status, target).toBe(401);
    }
  });

  describe('with the dicomweb-client package (OHIF\'s DICOMweb client)', () => {
    const client = () => new dicomweb.DICOMwebClient({ url: `${api.url}/dicomweb`, headers: api.authorization, singlepart: false });
    /** The client's typings are looser and stricter than its code (no `request`, which it reads to use a given XMLHttpRequest, here one carried by fetch). */
    const viaFetch = (options: object) => ({ ...options, request: { instance: fetchXhr() } }) as never;
    const ids = (name: string) => ({ studyInstanceUID: stored[name].study, seriesInstanceUID: stored[name].series, sopInstanceUID: stored[name].sop });

    it('when it retrieves metadata, an instance, frames and a rendered frame, then each is what Lantern holds', async () => {
      const study = await client().retrieveStudyMetadata(viaFetch({ studyInstanceUID: stored.us.study })) as Dataset[];
      expect(first(study[0], '00280008')).toBe(8);
      const series = await client().retrieveSeriesMetadata(viaFetch({ studyInstanceUID: stored.us.study, seriesInstanceUID: stored.us.series })) as Dataset[];
      expect(series).toHaveLength(1);
      const instance = await client().retrieveInstance(viaFetch(ids('chest'))) as ArrayBuffer;
      expect(sha(new Uint8Array(instance))).toBe(sha(fs.readFileSync(files.chestJ2k)));
      const frames = await client().retrieveInstanceFrames(viaFetch({ ...ids('us'), frameNumbers: [1, 2] })) as Uint8Array[];
      expect(frames.map((f) => f.byteLength)).toEqual([320 * 240 * 3, 320 * 240 * 3]);
      // A single-part answer comes back as a list of one.
      const [rendered] = await client().retrieveInstanceRendered(viaFetch({ ...ids('ct'), mediaTypes: [{ mediaType: 'image/png' }] })) as unknown as ArrayBuffer[];
      expect((await sharp(new Uint8Array(rendered)).metadata()).format).toBe('png');
    });
  });
});
