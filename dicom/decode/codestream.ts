import type { ImageAttributes } from '../attributes.ts';
import { checkDimensions } from './codec-error.ts';

/** The frame size a codestream's own header declares: what its codec will allocate for. */
export interface DeclaredSize {
  width: number;
  height: number;
  componentCount: number;
}

/** SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC); and JPEG-LS's SOF55 (F7). */
const isStartOfFrame = (marker: number) => (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) || marker === 0xf7;

/**
 * The first start-of-frame segment of a JPEG-family codestream (baseline, extended, lossless,
 * JPEG-LS): sample precision and size, or undefined if none is found before the data.
 */
export function jpegStartOfFrame(bytes: Uint8Array): (DeclaredSize & { precision: number }) | undefined {
  let position = 2;
  while (position + 9 < bytes.length) {
    if (bytes[position] !== 0xff) return undefined;
    const marker = bytes[position + 1];
    if (isStartOfFrame(marker)) {
      return {
        precision: bytes[position + 4],
        height: (bytes[position + 5] << 8) | bytes[position + 6],
        width: (bytes[position + 7] << 8) | bytes[position + 8],
        componentCount: bytes[position + 9],
      };
    }
    position += 2 + ((bytes[position + 2] << 8) | bytes[position + 3]);
  }
  return undefined;
}

/**
 * The size in a JPEG 2000 codestream's SIZ segment, which follows SOC: Xsiz − XOsiz by
 * Ysiz − YOsiz, Csiz components. Undefined for anything else (a JP2 file wrapper, say).
 */
export function j2kSize(bytes: Uint8Array): DeclaredSize | undefined {
  if (bytes.length < 42 || bytes[0] !== 0xff || bytes[1] !== 0x4f || bytes[2] !== 0xff || bytes[3] !== 0x51) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(8) - view.getUint32(16), height: view.getUint32(12) - view.getUint32(20), componentCount: view.getUint16(40) };
}

/** Whether a JPEG 2000 codestream's first component is signed (SIZ's Ssiz, bit 7); undefined when there is no SIZ to read. */
export function j2kSigned(bytes: Uint8Array): boolean | undefined {
  if (!j2kSize(bytes) || bytes.length <= 42) return undefined;
  return (bytes[42] & 0x80) !== 0;
}

const [COD, COC, SOT, SOD, EOC] = [0xff52, 0xff53, 0xff90, 0xff93, 0xffd9];

/**
 * How many resolution levels a JPEG 2000 (or HTJ2K) decoder may drop from this codestream so
 * that level r comes out ceil(width / 2^r) × ceil(height / 2^r): the fewest decomposition levels
 * any of its headers declares (COD and per-component COC, in the main header and in every
 * tile-part header, where a tile may lower them for itself). A codec asked to drop more levels
 * than one tile has fails the whole frame, so this is the coarsest level every tile supports.
 * 0 when the image area is offset from the origin (its reduced size is then not
 * ceil(size / 2^r)) or a header cannot be read: the full decode, which needs no level.
 */
export function j2kReducibleLevels(bytes: Uint8Array): number {
  if (!j2kSize(bytes)) return 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(16) !== 0 || view.getUint32(20) !== 0) return 0;
  const componentIndexBytes = view.getUint16(40) < 257 ? 1 : 2;
  let levels = Infinity;
  /** Reads marker segments from `position` up to the `end` marker: its position, or -1 if the header runs off or is not marker segments. */
  const readHeader = (position: number, end: number): number => {
    while (position + 4 <= bytes.length && view.getUint16(position) !== end) {
      const marker = view.getUint16(position);
      const length = view.getUint16(position + 2);
      if ((marker & 0xff00) !== 0xff00 || length < 2 || position + 2 + length > bytes.length) return -1;
      // COD: Lcod, Scod, progression order, layers (2), MCT, then the decomposition levels.
      if (marker === COD) levels = Math.min(levels, bytes[position + 9]);
      // COC: Lcoc, the component index, Scoc, then the decomposition levels.
      if (marker === COC) levels = Math.min(levels, bytes[position + 5 + componentIndexBytes]);
      position += 2 + length;
    }
    return position + 4 <= bytes.length ? position : -1;
  };
  // The main header runs from SOC to the first tile-part; the tile-parts follow up to EOC or the
  // end of the frame (less a DICOM fragment's padding byte). Each is SOT, Lsot, Isot, Psot (its
  // length from SOT on; 0: up to EOC), TPsot, TNsot, then a header of its own up to SOD.
  let position = readHeader(2, SOT);
  while (position >= 0 && position + 1 < bytes.length && view.getUint16(position) !== EOC) {
    if (view.getUint16(position) !== SOT || readHeader(position + 12, SOD) < 0) return 0;
    const length = view.getUint32(position + 6);
    if (length === 0) break;
    position += length;
  }
  return position >= 0 && Number.isFinite(levels) ? levels : 0;
}

/**
 * Refuses a frame whose codestream declares another size than the DICOM header, before its
 * codec runs. Codecs allocate what the bitstream says: a real 1841 × 1955 JPEG 2000 frame
 * whose SIZ was edited to say 20,000 × 20,000 held a process at 1.6 GB (WebAssembly memory
 * never shrinks), past the frame budget parse.ts checked against the header. A size that
 * cannot be read here (or a JPEG height of 0, set later by a DNL marker) is left to the codec.
 */
export function checkDeclaredSize(codec: string, image: ImageAttributes, declared: DeclaredSize | undefined): void {
  if (declared && declared.height !== 0) checkDimensions(codec, image, declared, 'declares');
}
