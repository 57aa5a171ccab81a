import { parentPort } from 'node:worker_threads';
import { DicomError, DicomLimitError } from '../errors.ts';
import { parseDicom } from '../parse.ts';
import { readableDicomJson } from '../dicom-json.ts';
import type { ParseReply, ParseRequest } from './protocol.ts';

parentPort!.on('message', ({ id, bytes, limits }: ParseRequest) => {
  let reply: ParseReply;
  try {
    const { transferSyntaxUid, hasPart10Header, meta } = parseDicom(new Uint8Array(bytes), limits);
    // Said at once: reading the DICOM JSON takes longer than the parse (1–4 ms of a radiograph, most of it
    // dcmjs walking the Pixel Data), and what the caller does with the attributes need not wait for it.
    parentPort!.postMessage({ id, parsed: { transferSyntaxUid, hasPart10Header, meta } } satisfies ParseReply);
    reply = { id, end: true, bytes, dicomJson: readableDicomJson(new Uint8Array(bytes), transferSyntaxUid, hasPart10Header) };
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    reply = { id, end: true, bytes, error: { name: e.name, message: e.message, code: e instanceof DicomError ? e.code : undefined, limit: e instanceof DicomLimitError ? e.limit : undefined } };
  }
  parentPort!.postMessage(reply, [bytes]);
});
parentPort!.postMessage({ ready: true });
