import type { Heatmap } from '../../contract/findings.ts';

/** Cells at or above this share of the map's peak make up the hot region. */
export const HOT_SHARE = 0.5;

/**
 * The heatmap's hot region as a closed SCOORD POLYLINE (first point = last) in the source image's pixel space
 * (PS3.3 C.18.6.1.2: column\row pairs, (0,0) the top-left corner of the top-left pixel):
 * the bounding box of the cells at or above half the peak, mapped through the square of the
 * image the model saw (`heatmap.region`) and clipped to the image. Undefined when the map is
 * flat zero or its box misses the image: there is no region to point at.
 */
export function heatmapHotRegion(heatmap: Heatmap, image: { rows?: number; columns?: number }): number[] | undefined {
  const peak = Math.max(...heatmap.data);
  if (!(peak > 0)) return undefined;
  let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
  heatmap.data.forEach((value, i) => {
    if (value < peak * HOT_SHARE) return;
    const x = i % heatmap.width;
    const y = Math.floor(i / heatmap.width);
    minX = Math.min(minX, x); maxX = Math.max(maxX, x + 1);
    minY = Math.min(minY, y); maxY = Math.max(maxY, y + 1);
  });
  const { left, top, size } = heatmap.region;
  const clip = (value: number, limit?: number) => Math.min(Math.max(value, 0), limit ?? Infinity);
  const x0 = clip(left + (minX * size) / heatmap.width, image.columns);
  const x1 = clip(left + (maxX * size) / heatmap.width, image.columns);
  const y0 = clip(top + (minY * size) / heatmap.height, image.rows);
  const y1 = clip(top + (maxY * size) / heatmap.height, image.rows);
  if (x1 <= x0 || y1 <= y0) return undefined;
  const round = (v: number) => Math.round(v * 100) / 100;
  return [x0, y0, x1, y0, x1, y1, x0, y1, x0, y0].map(round);
}
