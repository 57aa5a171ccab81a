import type { ImageAttributes } from '../../dicom/attributes.ts';
import type { DecodedFrame } from '../../dicom/decode/index.ts';
import type { DisplayWindow, ModalityTable } from '../../dicom/pixels.ts';

/** A rectangle of the decoded frame, in its pixels. */
export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** What the chain is given: one decoded frame and the attributes that say how to read it. */
export interface SourceImage {
  kind: 'source';
  frame: DecodedFrame;
  image: ImageAttributes;
}

/**
 * Modality values (Rescale Slope and Intercept applied: Hounsfield units, detector units…),
 * kept as the frame's stored values plus the table that maps them: no float per pixel.
 */
export interface ValuesImage {
  kind: 'values';
  width: number;
  height: number;
  /** The decoded frame's stored values, row-major (not copied). */
  stored: DecodedFrame['pixels'];
  table: ModalityTable;
  image: ImageAttributes;
}

/**
 * Display grey in [0, 1], kept as the stored values, their modality table and the window
 * that maps them, so that value steps (window, photometric) compose into one lookup table
 * over the stored values (dicom/pixels.ts `displayTable`), applied by the step that needs
 * pixels (resize) to the region it reads and nothing else. `region` is the part of the
 * frame kept so far (crop narrows it without copying).
 */
export interface DisplayImage {
  kind: 'display';
  width: number;
  height: number;
  stored: DecodedFrame['pixels'];
  table: ModalityTable;
  window: DisplayWindow;
  /** MONOCHROME1 stored: the window's bright end is dark, so the map is mirrored (1 − y). */
  invert: boolean;
  /** The source's Photometric Interpretation, for the photometric step. */
  photometric: string;
  region: Rect;
}

/** Model space: float32, planar channels × height × width, ready to be one batch item of [N, C, H, W]. */
export interface TensorImage {
  kind: 'tensor';
  channels: number;
  width: number;
  height: number;
  data: Float32Array;
  region: Rect;
}

export type StepImage = SourceImage | ValuesImage | DisplayImage | TensorImage;

/** What a chain hands the graph: one batch item of [N, C, H, W], and where in the frame it came from. */
export interface ModelImage {
  channels: number;
  width: number;
  height: number;
  dtype: 'float32';
  /** Planar: channel 0's rows, then channel 1's, … */
  data: Float32Array;
  /** The square of the original image the model saw, to register heatmaps back onto it. */
  region: { left: number; top: number; size: number };
}
