import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/**
 * Sends DICOM files to Lantern's STOW-RS endpoint as one `multipart/related;
 * type="application/dicom"` request, one file per part, exactly as a modality or PACS
 * would (PS3.18 §10.5). Returns the raw Response so a test can assert on the status
 * as well as the body.
 *
 * @example
 *   const res = await stowFiles(baseUrl, ['/work/shared/data/dicom/fo-dicom/files/CR-MONO1-10-chest']);
 *   const { stored, failed } = await res.json();
 */
export async function stowFiles(baseUrl: string, paths: string[]): Promise<Response> {
  const boundary = `lantern-${randomBytes(12).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const path of paths) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`, 'latin1'));
    chunks.push(await readFile(path));
    chunks.push(Buffer.from('\r\n', 'latin1'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`, 'latin1'));
  return fetch(new URL('/dicomweb/studies', baseUrl), {
    method: 'POST',
    headers: {
      'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
      accept: 'application/json',
    },
    body: Buffer.concat(chunks),
  });
}
