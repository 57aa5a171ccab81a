/**
 * The window a greyscale image without one in its header is shown with, on the server
 * (dicom/pixels.ts: rendered frames, the models' preprocessing) and in the viewer (the full
 * frame that replaces the server's first look): from the 0.5th to the 99.5th percentile of its
 * modality values, so a collimator edge or a burnt-in label does not flatten the anatomy.
 */
export const UNWINDOWED_PERCENTILES = { low: 0.005, high: 0.995 } as const;
