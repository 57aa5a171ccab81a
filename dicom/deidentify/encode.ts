import { deflateRawSync } from 'node:zlib';

/**
 * Writes a data set back to bytes in the transfer syntax it came in. Values that were not
 * changed are copied byte for byte (so big-endian numbers stay big-endian, and text stays
 * in its character set); sequences are written with undefined lengths, which every syntax
 * allows and which needs no length arithmetic when an item shrinks. Encapsulated Pixel
 * Data is copied whole, header to sequence delimiter, so the compressed frames are
 * untouched.
 */

export type OutElement =
  | { tag: number; vr: string; value: Uint8Array }
  | { tag: number; vr: 'SQ'; items: OutElement[][] }
  /** Header and value exactly as they were in the input (encapsulated Pixel Data). */
  | { tag: number; raw: Uint8Array };

export interface Encoding {
  explicit: boolean;
  littleEndian: boolean;
}

export const TRANSFER_SYNTAX = {
  implicitLittle: '1.2.840.10008.1.2',
  explicitLittle: '1.2.840.10008.1.2.1',
  deflated: '1.2.840.10008.1.2.1.99',
  explicitBig: '1.2.840.10008.1.2.2',
} as const;

export function encodingOf(transferSyntaxUid: string): Encoding {
  if (transferSyntaxUid === TRANSFER_SYNTAX.implicitLittle) return { explicit: false, littleEndian: true };
  if (transferSyntaxUid === TRANSFER_SYNTAX.explicitBig) return { explicit: true, littleEndian: false };
  return { explicit: true, littleEndian: true };
}

/** VRs whose explicit header has two reserved bytes and a 32-bit length (PS3.5 7.1.2). */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const UNDEFINED = 0xffffffff;

class Writer {
  private chunks: Uint8Array[] = [];
  constructor(private readonly encoding: Encoding) {}

  tagHeader(tag: number, vr: string | undefined, length: number): void {
    const { explicit, littleEndian } = this.encoding;
    const long = !explicit || LONG_VRS.has(vr ?? 'UN');
    const header = Buffer.alloc(explicit ? (long ? 12 : 8) : 8);
    const u16 = (value: number, at: number) => (littleEndian ? header.writeUInt16LE(value, at) : header.writeUInt16BE(value, at));
    const u32 = (value: number, at: number) => (littleEndian ? header.writeUInt32LE(value, at) : header.writeUInt32BE(value, at));
    u16(tag >>> 16, 0);
    u16(tag & 0xffff, 2);
    if (!explicit) {
      u32(length, 4);
    } else if (long) {
      header.write(vr ?? 'UN', 4, 'latin1');
      u32(length, 8);
    } else {
      if (length > 0xffff) throw new Error(`value of (${hex(tag)}) is ${length} bytes, too long for VR ${vr}`);
      header.write(vr!, 4, 'latin1');
      u16(length, 6);
    }
    this.chunks.push(header);
  }

  /** Item, item delimiter and sequence delimiter tags: no VR in any syntax. */
  delimiter(tag: number, length: number): void {
    const header = Buffer.alloc(8);
    if (this.encoding.littleEndian) {
      header.writeUInt16LE(tag >>> 16, 0); header.writeUInt16LE(tag & 0xffff, 2); header.writeUInt32LE(length, 4);
    } else {
      header.writeUInt16BE(tag >>> 16, 0); header.writeUInt16BE(tag & 0xffff, 2); header.writeUInt32BE(length, 4);
    }
    this.chunks.push(header);
  }

  element(element: OutElement): void {
    if ('raw' in element) {
      this.chunks.push(element.raw);
    } else if ('items' in element) {
      this.tagHeader(element.tag, 'SQ', UNDEFINED);
      for (const item of element.items) {
        this.delimiter(0xfffee000, UNDEFINED);
        for (const child of item) this.element(child);
        this.delimiter(0xfffee00d, 0);
      }
      this.delimiter(0xfffee0dd, 0);
    } else {
      const value = element.value.length % 2 === 0 ? element.value : padded(element.value, element.vr);
      this.tagHeader(element.tag, element.vr, value.length);
      this.chunks.push(value);
    }
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function padded(value: Uint8Array, vr: string): Uint8Array {
  const out = new Uint8Array(value.length + 1);
  out.set(value);
  out[value.length] = vr === 'UI' || vr === 'OB' || vr === 'UN' ? 0 : 0x20;
  return out;
}

export function hex(tag: number): string {
  return `${(tag >>> 16).toString(16).padStart(4, '0')},${(tag & 0xffff).toString(16).padStart(4, '0')}`.toUpperCase();
}

export function sortByTag(elements: OutElement[]): OutElement[] {
  return elements.sort((a, b) => (a.tag >>> 0) - (b.tag >>> 0));
}

export function encodeDataSet(elements: OutElement[], encoding: Encoding): Buffer {
  const writer = new Writer(encoding);
  for (const element of sortByTag(elements)) writer.element(element);
  return writer.bytes();
}

/**
 * A Part-10 file: preamble, "DICM", the File Meta Information (always explicit little
 * endian, with its group length) and the data set in `transferSyntaxUid`, deflated when
 * that syntax says so.
 */
export function encodePart10(meta: OutElement[], dataSet: OutElement[], transferSyntaxUid: string): Buffer {
  let body = encodeDataSet(dataSet, encodingOf(transferSyntaxUid));
  if (transferSyntaxUid === TRANSFER_SYNTAX.deflated) body = deflateRawSync(body);
  return Buffer.concat([part10Header(meta), body]);
}

/** Preamble, `DICM`, and the file meta group (explicit VR little endian, PS3.10 7.1) with its group length: what precedes a data set in a file. */
export function part10Header(meta: OutElement[]): Buffer {
  const metaBody = encodeDataSet(meta, { explicit: true, littleEndian: true });
  const groupLength = Buffer.alloc(12);
  groupLength.write('\x02\x00\x00\x00UL\x04\x00', 0, 'latin1');
  groupLength.writeUInt32LE(metaBody.length, 8);
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), groupLength, metaBody]);
}
