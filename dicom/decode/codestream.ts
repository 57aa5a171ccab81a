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
