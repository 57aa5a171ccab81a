import dcmjs from 'dcmjs';
import { encodePart10, type DenaturalisedDataset, type FileMeta } from './part10-writer.ts';

/**
 * The part of dcmjs 0.51 the SR writer uses: naturalising attributes in the DICOM JSON model
 * (keywords as names), and writing a naturalised data set as a Part 10 file. Typed here because
 * dcmjs ships no typings (the project's ambient declaration covers only the dictionary the
 * de-identifier reads).
 */
interface DcmjsData {
  DicomMetaDictionary: {
    naturalizeDataset(dataset: Record<string, unknown>): Record<string, unknown>;
    denaturalizeDataset(dataset: Record<string, unknown>): Record<string, unknown>;
  };
  DicomDict: new (meta: Record<string, unknown>) => { dict: Record<string, unknown>; write(): ArrayBuffer };
}

const data = (dcmjs as unknown as { data: DcmjsData }).data;

export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** Lantern's implementation class UID (PS3.7 D.3.3.2), derived under 2.25 from "lantern implementation class". */
const IMPLEMENTATION_CLASS_UID = '2.25.200137523474370930782613989235974151675';
const IMPLEMENTATION_VERSION_NAME = 'LANTERN';

/** DICOM JSON model attributes (PS3.18 F.2) by keyword, as the writer takes them. */
export function naturalize(json: Record<string, unknown>): Record<string, unknown> {
  const { _vrMap: _unused, ...named } = data.DicomMetaDictionary.naturalizeDataset(json);
  return named;
}

/**
 * A naturalised data set as a Part 10 file in explicit VR little endian, and the data set as
 * dcmjs encoded it (tag → `{ vr, Value }`), from which its DICOM JSON is made without reading
 * the bytes back (dicom-json.ts dicomJsonOfWritten).
 *
 * The bytes are dcmjs's, written by part10-writer.ts: dcmjs's own writer took about 6 ms for an
 * AI results SR (7 kB: 275 elements, 70 items, 5 levels deep) on an idle core — it builds a
 * WriteBufferStream per element (babel class fields, a SplitDataView and a TextEncoder each:
 * ~40% of the time), copies each value's arguments, and copies every item's bytes once per
 * enclosing sequence. The lean encoder writes the same bytes in ~0.1 ms, ~0.25 ms with dcmjs's
 * denaturalising (tools/hot-path/sr-encode-bench.ts). A data set with an element kind it does
 * not model is written by dcmjs as before (writeDenaturalisedWithDcmjs), so either way the
 * bytes are dcmjs's.
 */
export function writePart10(dataset: Record<string, unknown> & { SOPClassUID: string; SOPInstanceUID: string }): { bytes: Uint8Array; written: Record<string, unknown> } {
  const written = data.DicomMetaDictionary.denaturalizeDataset(dataset);
  const meta = fileMetaOf(dataset);
  return { bytes: encodePart10(written as DenaturalisedDataset, meta) ?? writeDenaturalisedWithDcmjs(written, meta), written };
}

/** writePart10 by dcmjs's writer alone: the reference the lean encoder is held to. */
export function writePart10WithDcmjs(dataset: Record<string, unknown> & { SOPClassUID: string; SOPInstanceUID: string }): { bytes: Uint8Array; written: Record<string, unknown> } {
  const written = data.DicomMetaDictionary.denaturalizeDataset(dataset);
  return { bytes: writeDenaturalisedWithDcmjs(written, fileMetaOf(dataset)), written };
}

/** The file meta information Lantern writes for a data set: its SOP class and instance, the rest constant. */
export function fileMetaOf(dataset: { SOPClassUID: string; SOPInstanceUID: string }): FileMeta {
  return {
    mediaStorageSopClassUid: dataset.SOPClassUID,
    mediaStorageSopInstanceUid: dataset.SOPInstanceUID,
    transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN,
    implementationClassUid: IMPLEMENTATION_CLASS_UID,
    implementationVersionName: IMPLEMENTATION_VERSION_NAME,
  };
}

/** A denaturalised data set as dcmjs's DicomDict writes it, with `meta` as its file meta group (throws what dcmjs throws). */
export function writeDenaturalisedWithDcmjs(written: Record<string, unknown>, meta: FileMeta): Uint8Array {
  const file = new data.DicomDict(data.DicomMetaDictionary.denaturalizeDataset({
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: meta.mediaStorageSopClassUid,
    MediaStorageSOPInstanceUID: meta.mediaStorageSopInstanceUid,
    TransferSyntaxUID: meta.transferSyntaxUid,
    ImplementationClassUID: meta.implementationClassUid,
    ImplementationVersionName: meta.implementationVersionName,
  }));
  file.dict = written;
  return new Uint8Array(file.write());
}
