/**
 * Metrics shared by the models' card tests (`models/<id>/model.test.ts`), which re-derive a
 * card's claims from the served ONNX file. Same definitions as models/evaluation_stats.py,
 * which computed the claims.
 */

/** AUROC as the Mann-Whitney U statistic, ties given half credit via mid-ranks. Labels are 0/1. */
export function aurocMannWhitney(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (scores.length !== labels.length) throw new Error(`${scores.length} scores but ${labels.length} labels`);
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  const rank = new Float64Array(scores.length);
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1]] === scores[idx[i]]) j++;
    for (let k = i; k <= j; k++) rank[idx[k]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  let nPos = 0;
  let rankSum = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === 1) {
      nPos++;
      rankSum += rank[i];
    }
  }
  const nNeg = labels.length - nPos;
  if (nPos === 0 || nNeg === 0) throw new Error('AUROC needs both classes');
  return (rankSum - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/** Confusion counts of `score >= threshold` against 0/1 labels. */
export function confusionAt(scores: ArrayLike<number>, labels: ArrayLike<number>, threshold: number) {
  let tp = 0, fn = 0, tn = 0, fp = 0;
  for (let i = 0; i < labels.length; i++) {
    const pos = scores[i] >= threshold;
    if (labels[i] === 1) pos ? tp++ : fn++;
    else pos ? fp++ : tn++;
  }
  return { tp, fn, tn, fp, sensitivity: tp / (tp + fn), specificity: tn / (tn + fp) };
}

/**
 * What a refer band [low, high) does: the fraction of cases referred, and the accuracy of the
 * hints outside it (p < low read as negative, p >= high as positive).
 */
export function referBandEffect(scores: ArrayLike<number>, labels: ArrayLike<number>, low: number, high: number) {
  let referred = 0, correct = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = scores[i];
    if (p >= low && p < high) referred++;
    else if ((p >= high) === (labels[i] === 1)) correct++;
  }
  const outside = labels.length - referred;
  return { referred, referredFraction: referred / labels.length, outside, accuracyOutside: outside ? correct / outside : null };
}
