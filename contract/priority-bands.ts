/**
 * Worklist bands of priority, [min, max): the worklist's `priority` filter and the viewer's
 * colours. Kept free of zod so the viewer imports the values, not only their types.
 */
export const PRIORITY_BANDS = {
  urgent: { min: 75 },
  high: { min: 50, max: 75 },
  routine: { min: 25, max: 50 },
  low: { max: 25 },
} as const satisfies Record<string, { min?: number; max?: number }>;

export type PriorityBand = keyof typeof PRIORITY_BANDS;

/** The band a priority (0–100) falls in. */
export function priorityBand(priority: number): PriorityBand {
  const bands = Object.entries(PRIORITY_BANDS) as [PriorityBand, { min?: number; max?: number }][];
  return bands.find(([, band]) => (band.min === undefined || priority >= band.min) && (band.max === undefined || priority < band.max))![0];
}
