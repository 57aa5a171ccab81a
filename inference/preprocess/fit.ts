import type { ImageAttributes } from '../../dicom/attributes.ts';
import type { DecodedFrame } from '../../dicom/decode/index.ts';
import type { Chain } from './chain.ts';

/** A graph input as onnxruntime reports it (`session.inputMetadata`): dimensions are numbers, or names / -1 when dynamic. */
export interface GraphInput {
  name: string;
  type: string;
  shape: readonly (number | string)[];
}

/** The card's declared input tensor: -1 marks a dynamic dimension. */
export interface DeclaredInput {
  name: string;
  dtype: string;
  shape: readonly number[];
}

/**
 * A frame in the form real radiographs come in, generated: wider than tall (so a crop has
 * work to do), 12 bits stored in 16, MONOCHROME1 (so the photometric step has work to do),
 * no VOI window (so the percentile window is exercised), a ramp with a bright disc.
 */
export function syntheticFrame(): { frame: DecodedFrame; image: ImageAttributes } {
  const [columns, rows] = [320, 256];
  const pixels = new Uint16Array(columns * rows);
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < columns; x++) {
      const disc = (x - 160) ** 2 + (y - 128) ** 2 < 60 ** 2 ? 1500 : 0;
      pixels[y * columns + x] = Math.min(4095, Math.round((x / columns) * 2000 + (y / rows) * 500) + disc);
    }
  }
  const photometricInterpretation = 'MONOCHROME1';
  return {
    frame: { rows, columns, scale: 1, samplesPerPixel: 1, photometricInterpretation, bitsStored: 12, pixelRepresentation: 0, pixels },
    image: {
      rows, columns, samplesPerPixel: 1, photometricInterpretation, bitsAllocated: 16, bitsStored: 12, highBit: 11,
      pixelRepresentation: 0, planarConfiguration: 0, numberOfFrames: 1, rescaleSlope: 1, rescaleIntercept: 0,
    },
  };
}

/**
 * Runs the chain on the synthetic frame and compares what it makes — one float32 batch
 * item [C, H, W] — with the graph's input (from onnxruntime) and the card's declared
 * input. Returns what does not fit, in words, or undefined when it fits. Dynamic
 * dimensions (-1 on the card, a name or -1 in the graph) fit anything; the batch
 * dimension must be one of them or 1.
 */
export async function chainMismatch(chain: Chain, declared: DeclaredInput, graph: GraphInput | undefined): Promise<string | undefined> {
  let made;
  try {
    const { frame, image } = syntheticFrame();
    made = await chain.run(frame, image);
  } catch (error) {
    return `preprocessing ${chain.key} does not run on a synthetic 320×256 12-bit MONOCHROME1 frame: ${(error as Error).message}`;
  }
  const shape = [1, made.channels, made.height, made.width];
  const made_ = `${made.dtype} [N, ${made.channels}, ${made.height}, ${made.width}] (N, channels, height, width)`;
  const fits = (dims: readonly (number | string)[]) => dims.length === 4 && dims.every((d, i) => typeof d !== 'number' || d === -1 || d === shape[i]);
  const show = (dims: readonly (number | string)[]) => `[${dims.map((d) => (typeof d === 'number' && d >= 0 ? d : typeof d === 'number' ? 'N' : d)).join(', ')}]`;
  if (declared.dtype !== made.dtype || !fits(declared.shape)) {
    return `preprocessing ${chain.key} makes ${made_} but the card declares input ${declared.name} as ${declared.dtype} ${show(declared.shape)}`;
  }
  if (graph && (graph.type !== made.dtype || !fits(graph.shape))) {
    return `preprocessing ${chain.key} makes ${made_} but the graph's input ${graph.name} is ${graph.type} ${show(graph.shape)}`;
  }
  return undefined;
}
