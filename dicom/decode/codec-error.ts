import type { ImageAttributes } from '../attributes.ts';
import { describeThrown, PixelDecodeError } from '../errors.ts';

export function codecFailure(codec: string, thrown: unknown): PixelDecodeError {
  if (thrown instanceof PixelDecodeError) return thrown;
  return new PixelDecodeError(`${codec} could not decode the frame: ${describeThrown(thrown)}`, {
    cause: thrown,
  });
}

/** Codecs trust the bitstream; a frame that disagrees with the header is not this image (`found`: what the codec produced, or what the codestream declares). */
export function checkDimensions(
  codec: string,
  image: ImageAttributes,
  decoded: { width: number; height: number; componentCount: number },
  found: 'produced' | 'declares' = 'produced',
): void {
  if (
    decoded.width !== image.columns ||
    decoded.height !== image.rows ||
    decoded.componentCount !== image.samplesPerPixel
  ) {
    throw new PixelDecodeError(
      `${codec} ${found} ${decoded.width}x${decoded.height}x${decoded.componentCount} but the header says ` +
        `${image.columns}x${image.rows}x${image.samplesPerPixel}`,
    );
  }
}
