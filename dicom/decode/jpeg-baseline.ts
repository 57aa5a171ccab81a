import { UnsupportedTransferSyntaxError } from '../errors.ts';
import { lazyModule, quietModule, runEmscriptenDecoder } from './emscripten.ts';
import { jpegStartOfFrame } from './codestream.ts';
import type { FrameDecoder } from './types.ts';

const libjpegTurbo = lazyModule(async () =>
  (await import('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs')).default(quietModule),
);

/**
 * JPEG baseline (.4.50) and the 8-bit half of extended (.4.51) via libjpeg-turbo.
 * The only npm JPEG codecs are 8-bit builds; 12-bit extended frames are refused rather
 * than decoded wrongly. A reduced frame is the full decode box-averaged (reduce.ts): libjpeg's
 * DCT scaling (scale_denom) is not exposed by this WebAssembly build (its decoder has decode()
 * and readHeader() only), and sharp has no scaled decode either, only shrink-on-load inside
 * resize(), whose factor libvips chooses: on SC_rgb_jpeg_dcmtk.dcm its 1/4 output differs from
 * libjpeg's 1/4 DCT-scaled decode (PIL's draft mode) by up to 65 grey levels.
 */
export const jpegBaseline: FrameDecoder = {
  encapsulated: true,
  async decode(frame) {
    const startOfFrame = jpegStartOfFrame(frame.bytes);
    const precision = startOfFrame?.precision;
    if (precision !== undefined && precision > 8) {
      throw new UnsupportedTransferSyntaxError(
        `JPEG with ${precision}-bit samples (extended process 4) is not supported: no available decoder handles 12-bit DCT JPEG`,
      );
    }
    const { JPEGDecoder } = await libjpegTurbo();
    const { bytes } = runEmscriptenDecoder('libjpeg-turbo', new JPEGDecoder(), frame, startOfFrame, () => null);
    // libjpeg-turbo converts YCbCr to RGB on output whatever the header claimed.
    const colour = frame.image.samplesPerPixel === 3;
    return {
      bytes,
      bytesPerSample: 1,
      photometricInterpretation: colour ? 'RGB' : frame.image.photometricInterpretation,
      planar: false,
    };
  },
};
