/**
 * Band tables, checked and looked up in one place: the rows of a score term (`{upTo, points}`),
 * a score card's bands on its total and a risk card's bands on its risk (`{label, below}`).
 *
 * Rows ascend. Each row bounds its top with `upTo` (inclusive: "≤ 8") or `below` (exclusive:
 * "< 110"), written as the publication writes it; the last row has neither and is open ("≥ 25").
 * A value falls in the first row whose bound admits it.
 *
 * Why both `upTo` and `below`: published tables mix them on continuous inputs. FINDRISC BMI is
 * "< 25 → 0; 25–30 → 1; > 30 → 3", so BMI 30.0 scores 1 and 30.05 scores 3; no single convention
 * can say that without an epsilon.
 */
export interface BandBound {
  upTo?: number;
  below?: number;
  /** Names the row in messages (card bands have one; table rows are named by position). */
  label?: string;
}

/** Index of the row `x` falls in (the open last row when no bound admits it). */
export function bandIndex(rows: readonly BandBound[], x: number): number {
  const i = rows.findIndex((row) => (row.upTo !== undefined ? x <= row.upTo : row.below !== undefined ? x < row.below : true));
  return i === -1 ? rows.length - 1 : i;
}

/** The row `x` falls in. */
export const bandOf = <R extends BandBound>(rows: readonly R[], x: number): R => rows[bandIndex(rows, x)];

/**
 * What is wrong with a band table, one message per row at fault (empty when it is sound):
 * a row with both bounds, an open row before the last, a bounded last row, a bound that does
 * not ascend (the band between would be empty), two rows with one label.
 */
export function bandTableProblems(rows: readonly BandBound[]): { index: number; message: string }[] {
  const problems: { index: number; message: string }[] = [];
  const add = (index: number, message: string) => problems.push({ index, message });
  if (!rows.length) add(0, 'bands is empty');
  const labels = new Set<string>();
  rows.forEach((row, i) => {
    const last = i === rows.length - 1;
    const bound = row.upTo ?? row.below;
    const name = row.label !== undefined ? `band ${row.label}` : 'this row';
    if (row.upTo !== undefined && row.below !== undefined) add(i, 'a band row has either upTo or below, not both');
    if (last && bound !== undefined) add(i, `the last band${row.label !== undefined ? ` (${row.label})` : ''} must be open (no upTo/below)`);
    if (!last && bound === undefined) add(i, `only the last band may be open; ${name} needs upTo or below`);
    if (i > 0 && bound !== undefined) {
      const prev = rows[i - 1];
      const prevBound = prev.upTo ?? prev.below;
      // `below x` then `upTo x` is the one-point band {x}; anything else must strictly ascend.
      const ascends = prevBound === undefined || bound > prevBound || (bound === prevBound && prev.below !== undefined && row.upTo !== undefined);
      if (!ascends) {
        add(i, row.label !== undefined
          ? `band ${row.label} below ${bound} does not increase on the previous band's ${prevBound}: this band would be empty`
          : `band bound ${bound} does not ascend after ${prevBound}: this band would be empty`);
      }
    }
    if (row.label !== undefined) {
      if (labels.has(row.label)) add(i, `two bands share the label ${row.label}`);
      labels.add(row.label);
    }
  });
  return problems;
}
