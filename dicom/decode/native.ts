import type { EncodedFrame, FrameDecoder, RawSamples } from './types.ts';

/** Uncompressed little-endian pixel data (implicit, explicit and deflated syntaxes). */
export const nativeLittleEndian: FrameDecoder = {
  encapsulated: false,
  async decode(frame) {
    return nativeSamples(frame, frame.bytes);
  },
};

/**
 * Explicit VR big endian. dicom-parser leaves pixel data as stored, so OW words are
 * swapped here; OB is a byte stream and has no byte order.
 */
export const nativeBigEndian: FrameDecoder = {
  encapsulated: false,
  async decode(frame) {
    const swap = frame.pixelVr !== 'OB';
    return nativeSamples(frame, swap ? swapWords(frame.bytes) : frame.bytes);
  },
};

function nativeSamples(frame: EncodedFrame, bytes: Uint8Array): RawSamples {
  const { image } = frame;
  const bytesPerSample = image.bitsAllocated === 16 ? 2 : 1;
  if (image.photometricInterpretation === 'YBR_FULL_422' && bytesPerSample === 1) {
    const full = upsample422(bytes, image.rows * image.columns);
    return { bytes: full, bytesPerSample, photometricInterpretation: 'YBR_FULL', planar: false };
  }
  return {
    bytes,
    bytesPerSample,
    photometricInterpretation: image.photometricInterpretation,
    planar: image.samplesPerPixel > 1 && image.planarConfiguration === 1,
  };
}

function swapWords(bytes: Uint8Array): Uint8Array {
  const swapped = new Uint8Array(bytes.length);
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    swapped[i] = bytes[i + 1];
    swapped[i + 1] = bytes[i];
  }
  return swapped;
}

/** Uncompressed YBR_FULL_422 stores Y1 Y2 Cb Cr per pixel pair; repeat the chroma for both. */
function upsample422(bytes: Uint8Array, pixels: number): Uint8Array {
  const full = new Uint8Array(pixels * 3);
  for (let pair = 0; pair * 2 < pixels; pair++) {
    const source = pair * 4;
    const target = pair * 6;
    full.set([bytes[source], bytes[source + 2], bytes[source + 3]], target);
    if (pair * 2 + 1 < pixels) full.set([bytes[source + 1], bytes[source + 2], bytes[source + 3]], target + 3);
  }
  return full;
}
