import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDicom } from '../../dicom/parse.ts';
import { sharedData } from './shared-data.ts';

/** A real Comprehensive SR (pydicom's test file), to travel in a study beside an image. */
const srFile = path.join(sharedData, 'dicom/pydicom-testfiles/test_files/test-SR.dcm');

/**
 * The SR as an instance of the study `image` belongs to (its Study Instance UID, Patient ID and
 * name; new Series and SOP Instance UIDs), rewritten by dcmtk's dcmodify as a modality's tools
 * would: a peer then files both under one patient and one study.
 */
export function srInStudyOf(image: Uint8Array): Uint8Array {
  // Lantern's parser: the image may be a raw data set without a Part 10 header.
  const source = parseDicom(image).dataSet;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-sr-'));
  try {
    const file = path.join(dir, 'sr.dcm');
    fs.copyFileSync(srFile, file);
    execFileSync('dcmodify', ['-nb', '-gse', '-gin',
      '-m', `(0020,000d)=${source.string('x0020000d')}`,
      '-i', `(0010,0020)=${source.string('x00100020') ?? ''}`,
      '-m', `(0010,0010)=${source.string('x00100010') ?? ''}`, file]);
    return new Uint8Array(fs.readFileSync(file));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
