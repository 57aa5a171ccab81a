import { parentPort } from 'node:worker_threads';
import { DicomError, DicomLimitError } from '../errors.ts';
import { parseDicom } from '../parse.ts';
import { readableDicomJson } from '../dicom-json.ts';
import type { ParseReply, ParseRequest } from './protocol.ts';

parentPort!.on('message', ({ id, bytes, limits }: ParseRequest) => {
  let reply: ParseReply;
  try {
    const { transferSyntaxUid, hasPart10Header, meta } = parseDicom(new Uint8Array(bytes), limits);
    reply = { id, bytes, parsed: { transferSyntaxUid, hasPart10Header, meta, dicomJson: readableDicomJson(new Uint8Array(bytes), transferSyntaxUid, hasPart10Header) } };
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    reply = { id, bytes, error: { name: e.name, message: e.message, code: e instanceof DicomError ? e.code : undefined, limit: e instanceof DicomLimitError ? e.limit : undefined } };
  }
  parentPort!.postMessage(reply, [bytes]);
});
parentPort!.postMessage({ ready: true });
