import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';

/** Files under `target` (recursively), skipping hidden files; DICOM is recognised by the server, not by name. */
export function collectFiles(target: string): string[] {
  const stat = fs.statSync(target);
  if (stat.isFile()) return [target];
  return fs.readdirSync(target, { withFileTypes: true })
    .filter((entry) => !entry.name.startsWith('.'))
    .flatMap((entry) => collectFiles(path.join(target, entry.name)));
}

/** One STOW-RS request body: multipart/related with one application/dicom part per file. */
export function stowBody(files: Uint8Array[]): { body: Buffer; contentType: string } {
  const boundary = `lantern-${randomUUID()}`;
  const chunks: Buffer[] = [];
  for (const file of files) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), Buffer.from(file), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/related; type="application/dicom"; boundary=${boundary}` };
}

export interface IngestReport {
  file: string;
  status: 'stored' | 'duplicate' | 'rejected';
  detail: string;
}

/**
 * Uploads each file to a running Lantern through STOW-RS as the token's user, one request per
 * file so one bad file rejects only itself. It asks for Lantern's JSON answer (`{ stored, failed }`;
 * a refused file is a 409 `{ error }`) rather than DICOM JSON, to print Lantern's reason as it is.
 */
export async function ingestPaths(baseUrl: string, token: string | undefined, targets: string[], onProgress?: (report: IngestReport, done: number, total: number) => void): Promise<IngestReport[]> {
  const files = targets.flatMap(collectFiles);
  const reports: IngestReport[] = [];
  for (const [index, file] of files.entries()) {
    const { body, contentType } = stowBody([fs.readFileSync(file)]);
    const headers = { 'content-type': contentType, accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
    const response = await fetch(new URL('/dicomweb/studies', baseUrl), { method: 'POST', headers, body: new Uint8Array(body) });
    const json = await response.json() as { stored?: { status: 'stored' | 'duplicate'; studyInstanceUid: string }[]; error?: { code: string; message: string } };
    const report: IngestReport = response.ok && json.stored?.[0]
      ? { file, status: json.stored[0].status, detail: `study ${json.stored[0].studyInstanceUid}` }
      : { file, status: 'rejected', detail: json.error ? `${json.error.code}: ${json.error.message}` : `HTTP ${response.status}` };
    reports.push(report);
    onProgress?.(report, index + 1, files.length);
  }
  return reports;
}
