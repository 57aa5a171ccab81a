/**
 * Two small, dependency-free SVG plots for evaluation reports: the ROC curve and the
 * reliability diagram. Deterministic output (no timestamps, no random ids), so a
 * re-run on an unchanged model leaves the files byte-identical.
 */
import type { ReliabilityBin, RocPoint } from './metrics.ts';

const W = 420;
const H = 440;
const M = { left: 56, right: 16, top: 40, bottom: 56 };
const PW = W - M.left - M.right;
const PH = 320;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const f = (x: number) => (Math.round(x * 100) / 100).toString();
const sx = (x: number) => M.left + x * PW;
const sy = (y: number) => M.top + (1 - y) * PH;

function frame(title: string, xLabel: string, yLabel: string): string[] {
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="13">${esc(title)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const v = i / 5;
    out.push(
      `<line x1="${f(sx(v))}" y1="${f(sy(0))}" x2="${f(sx(v))}" y2="${f(sy(1))}" stroke="#eee"/>`,
      `<line x1="${f(sx(0))}" y1="${f(sy(v))}" x2="${f(sx(1))}" y2="${f(sy(v))}" stroke="#eee"/>`,
      `<text x="${f(sx(v))}" y="${f(sy(0) + 14)}" text-anchor="middle">${v.toFixed(1)}</text>`,
      `<text x="${f(sx(0) - 6)}" y="${f(sy(v) + 4)}" text-anchor="end">${v.toFixed(1)}</text>`,
    );
  }
  out.push(
    `<rect x="${sx(0)}" y="${sy(1)}" width="${PW}" height="${PH}" fill="none" stroke="#000"/>`,
    `<line x1="${sx(0)}" y1="${sy(0)}" x2="${sx(1)}" y2="${sy(1)}" stroke="#999" stroke-dasharray="3 3"/>`,
    `<text x="${f(sx(0.5))}" y="${f(sy(0) + 30)}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text transform="translate(16 ${f(sy(0.5))}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
  );
  return out;
}

function legend(lines: { text: string; colour: string; dash?: boolean; dot?: boolean }[]): string[] {
  const y0 = M.top + PH + 44;
  return lines.flatMap((l, i) => {
    const y = y0 + i * 14;
    const mark = l.dot
      ? `<circle cx="${M.left + 8}" cy="${y - 4}" r="4" fill="${l.colour}"/>`
      : `<line x1="${M.left}" y1="${y - 4}" x2="${M.left + 16}" y2="${y - 4}" stroke="${l.colour}" stroke-width="2"${l.dash ? ' stroke-dasharray="3 3"' : ''}/>`;
    return [mark, `<text x="${M.left + 22}" y="${y}">${esc(l.text)}</text>`];
  });
}

/** A further ROC curve on the same axes (e.g. per patient), drawn dashed under the main one. */
export interface ExtraCurve { name: string; roc: RocPoint[]; auc: { value: number; ci95: [number, number] } }

export function rocSvg(title: string, roc: RocPoint[], auc: { value: number; ci95: [number, number] }, markers: { name: string; fpr: number; tpr: number }[], extra: ExtraCurve[] = []): string {
  const out = frame(title, '1 − specificity (false-positive rate)', 'sensitivity (true-positive rate)');
  const extraColours = ['#8c564b', '#17becf'];
  extra.forEach((c, i) => out.push(`<polyline points="${c.roc.map((p) => `${f(sx(p.fpr))},${f(sy(p.tpr))}`).join(' ')}" fill="none" stroke="${extraColours[i % 2]}" stroke-width="2" stroke-dasharray="6 3"/>`));
  // Step curve: ties move diagonally, as the Mann-Whitney AUROC counts them.
  const points = roc.map((p) => `${f(sx(p.fpr))},${f(sy(p.tpr))}`).join(' ');
  out.push(`<polyline points="${points}" fill="none" stroke="#1f77b4" stroke-width="2"/>`);
  const colours = ['#d62728', '#ff7f0e', '#2ca02c', '#9467bd'];
  markers.forEach((m, i) => out.push(`<circle cx="${f(sx(m.fpr))}" cy="${f(sy(m.tpr))}" r="4.5" fill="${colours[i % colours.length]}"><title>${esc(m.name)}</title></circle>`));
  out.push(...legend([
    { text: `${extra.length > 0 ? 'per image: ' : ''}AUROC ${auc.value.toFixed(3)} (95% CI ${auc.ci95[0].toFixed(3)}–${auc.ci95[1].toFixed(3)}, DeLong)`, colour: '#1f77b4' },
    ...extra.map((c, i) => ({ text: `${c.name}: AUROC ${c.auc.value.toFixed(3)} (95% CI ${c.auc.ci95[0].toFixed(3)}–${c.auc.ci95[1].toFixed(3)})`, colour: extraColours[i % 2], dash: true })),
    ...markers.map((m, i) => ({ text: `${m.name}: sens ${m.tpr.toFixed(3)}, spec ${(1 - m.fpr).toFixed(3)}`, colour: colours[i % colours.length], dot: true })),
  ].slice(0, 4)));
  out.push('</svg>', '');
  return out.join('\n');
}

export function calibrationSvg(title: string, bins: ReliabilityBin[], ece: number, fit: { slope: number; slopeFitIntercept: number; intercept: number }, n: number): string {
  const out = frame(title, 'predicted probability (10 equal-width bins)', 'observed fraction positive');
  // Bars along the bottom: share of cases per bin (scaled to 20% of the plot height).
  const maxShare = Math.max(...bins.map((b) => b.n / n));
  for (const b of bins) {
    const h = ((b.n / n) / maxShare) * 0.2 * PH;
    out.push(`<rect x="${f(sx(b.bin[0]) + 1)}" y="${f(sy(0) - h)}" width="${f(PW / 10 - 2)}" height="${f(h)}" fill="#ddd"><title>${b.n} cases</title></rect>`);
  }
  // The fitted logistic calibration curve, observed = sigmoid(a + b·logit(p)).
  const curve: string[] = [];
  for (let i = 1; i < 100; i++) {
    const p = i / 100;
    const y = 1 / (1 + Math.exp(-(fit.slopeFitIntercept + fit.slope * Math.log(p / (1 - p)))));
    curve.push(`${f(sx(p))},${f(sy(y))}`);
  }
  out.push(`<polyline points="${curve.join(' ')}" fill="none" stroke="#ff7f0e" stroke-dasharray="5 3"/>`);
  for (const b of bins) {
    const [lo, hi] = b.observedCi95;
    out.push(
      `<line x1="${f(sx(b.meanProbability))}" y1="${f(sy(lo))}" x2="${f(sx(b.meanProbability))}" y2="${f(sy(hi))}" stroke="#1f77b4"/>`,
      `<circle cx="${f(sx(b.meanProbability))}" cy="${f(sy(b.observed))}" r="${f(3 + 5 * Math.sqrt(b.n / n))}" fill="#1f77b4" fill-opacity="0.8"><title>${b.events}/${b.n} observed, mean predicted ${b.meanProbability.toFixed(3)}</title></circle>`,
    );
  }
  out.push(...legend([
    { text: `bins: mean predicted vs observed (Wilson 95% CI); ECE ${ece.toFixed(3)}`, colour: '#1f77b4', dot: true },
    { text: `logistic fit: slope ${fit.slope.toFixed(2)}; calibration-in-the-large ${fit.intercept.toFixed(2)}`, colour: '#ff7f0e', dash: true },
    { text: 'grey bars: share of cases per bin; dotted: perfect calibration', colour: '#999', dash: true },
  ]));
  out.push('</svg>', '');
  return out.join('\n');
}
