/**
 * The report's three plots, dependency-free and deterministic (no timestamps, no random ids) like
 * tools/evaluation/svg.ts, whose axes are fixed to [0, 1] × [0, 1] and so do not fit these:
 * sensitivity by outbreak size, false alerts by method and site level, one example series.
 */
import type { EvaluationResult, ExampleSeries } from './evaluate.ts';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (x: number) => (Math.round(x * 10) / 10).toString();
const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];

function open(width: number, height: number, title: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="13">${esc(title)}</text>`,
  ];
}

const legend = (x: number, y: number, items: { label: string; colour: string }[]) => items.flatMap((item, i) => [
  `<rect x="${x}" y="${y + i * 15 - 9}" width="12" height="10" fill="${item.colour}"/>`,
  `<text x="${x + 17}" y="${y + i * 15}">${esc(item.label)}</text>`,
]);

/** Sensitivity (Wilson 95% CI whiskers) against outbreak size, one line per method, its by-chance share dashed; single-site outbreaks. */
export function sensitivitySvg(result: EvaluationResult): string {
  const W = 760, H = 400, L = 56, T = 40, PW = 380, PH = 300;
  const sizes = result.options.sizes;
  const x = (i: number) => L + (sizes.length === 1 ? PW / 2 : (i / (sizes.length - 1)) * PW);
  const y = (v: number) => T + (1 - v) * PH;
  const out = open(W, H, 'Sensitivity by outbreak size (single-site outbreaks, all shapes and levels)');
  for (let v = 0; v <= 1.0001; v += 0.2) out.push(`<line x1="${L}" y1="${num(y(v))}" x2="${L + PW}" y2="${num(y(v))}" stroke="#eee"/>`, `<text x="${L - 6}" y="${num(y(v) + 4)}" text-anchor="end">${v.toFixed(1)}</text>`);
  sizes.forEach((s, i) => out.push(`<text x="${num(x(i))}" y="${T + PH + 16}" text-anchor="middle">${s}× weekly mean</text>`));
  out.push(`<rect x="${L}" y="${T}" width="${PW}" height="${PH}" fill="none" stroke="#000"/>`);
  out.push(`<text transform="translate(16 ${T + PH / 2}) rotate(-90)" text-anchor="middle">sensitivity (detected during the outbreak)</text>`);
  result.variants.forEach((v, vi) => {
    const rows = result.single.filter((r) => r.variant === v.id);
    const dx = (vi - (result.variants.length - 1) / 2) * 4; // spread the whiskers so they do not hide each other
    out.push(
      `<polyline points="${rows.map((r, i) => `${num(x(i) + dx)},${num(y(r.sensitivity.value))}`).join(' ')}" fill="none" stroke="${COLOURS[vi]}" stroke-width="2"/>`,
      // What the same spans showed with no outbreak at all: the part of sensitivity owed to alarming often.
      `<polyline points="${rows.map((r, i) => `${num(x(i) + dx)},${num(y(r.byChance.value))}`).join(' ')}" fill="none" stroke="${COLOURS[vi]}" stroke-dasharray="4 3"/>`,
    );
    rows.forEach((r, i) => out.push(
      `<line x1="${num(x(i) + dx)}" y1="${num(y(r.sensitivity.ci95[0]))}" x2="${num(x(i) + dx)}" y2="${num(y(r.sensitivity.ci95[1]))}" stroke="${COLOURS[vi]}"/>`,
      `<circle cx="${num(x(i) + dx)}" cy="${num(y(r.sensitivity.value))}" r="3" fill="${COLOURS[vi]}"><title>${esc(`${v.label}, ${r.size}×: ${r.sensitivity.k}/${r.sensitivity.n}`)}</title></circle>`,
    ));
  });
  out.push(
    ...legend(L + PW + 20, T + 10, result.variants.map((v, i) => ({ label: v.label, colour: COLOURS[i] }))),
    `<text x="${L + PW + 20}" y="${T + 30 + result.variants.length * 15}" fill="#555">solid: with the outbreak (95% CI)</text>`,
    `<text x="${L + PW + 20}" y="${T + 45 + result.variants.length * 15}" fill="#555">dashed: same days, no outbreak (by chance)</text>`,
    '</svg>', '',
  );
  return out.join('\n');
}

/** Alarm days per site-month on outbreak-free background, by method and site level (log scale: they span two decades). */
export function falseAlertsSvg(result: EvaluationResult): string {
  const W = 640, H = 60 + result.variants.length * 70, L = 250, T = 40, PW = 340;
  const levels = ['village', 'township', 'county'];
  const lo = 0.01;
  const max = 10 ** Math.ceil(Math.log10(Math.max(...result.falseAlerts.map((r) => r.perMonth), lo * 10)));
  const x = (v: number) => L + (Math.log10(Math.max(v, lo) / lo) / Math.log10(max / lo)) * PW;
  const out = open(W, H, 'False alerts: alarm days per site-month on background (log scale)');
  for (const tick of [0.01, 0.1, 1, 10, 100, 1000].filter((t) => t <= max * 1.0001)) {
    out.push(`<line x1="${num(x(tick))}" y1="${T}" x2="${num(x(tick))}" y2="${H - 30}" stroke="#eee"/>`, `<text x="${num(x(tick))}" y="${H - 16}" text-anchor="middle">${tick}</text>`);
  }
  result.variants.forEach((v, vi) => {
    const top = T + vi * 70;
    out.push(`<text x="${L - 8}" y="${top + 30}" text-anchor="end">${esc(v.label)}</text>`);
    levels.forEach((level, li) => {
      const row = result.falseAlerts.find((r) => r.variant === v.id && r.over === level)!;
      const yy = top + 6 + li * 18;
      out.push(
        `<rect x="${L}" y="${yy}" width="${num(x(row.perMonth) - L)}" height="14" fill="${COLOURS[li]}"><title>${esc(`${level}: ${row.perMonth.toFixed(2)} per site-month`)}</title></rect>`,
        `<text x="${num(x(row.perMonth) + 4)}" y="${yy + 11}">${row.perMonth.toFixed(2)}</text>`,
      );
    });
  });
  out.push(...legend(12, T + 10, levels.map((l, i) => ({ label: l, colour: COLOURS[i] }))), '</svg>', '');
  return out.join('\n');
}

/** One simulated series: background cases, the injected extra cases, the outbreak's days, and each method's alarm days. */
export function exampleSvg(example: ExampleSeries, labels: Record<string, string>): string {
  const methods = Object.keys(example.alarms);
  const W = 900, L = 250, T = 40, PH = 180, rowH = 16;
  const H = T + PH + 30 + methods.length * rowH + 20;
  const n = example.counts.length;
  const bw = (W - L - 20) / n;
  const max = Math.max(...example.counts.map((c, i) => c + example.extra[i]), 1);
  const y = (v: number) => T + PH - (v / max) * PH;
  const out = open(W, H, `Example: ${example.site} (${example.level}), ${example.shape} outbreak of ${example.size}× its weekly mean from ${example.start}`);
  const [s, e] = example.outbreak;
  out.push(`<rect x="${num(L + s * bw)}" y="${T}" width="${num((e - s + 1) * bw)}" height="${PH + 30 + methods.length * rowH}" fill="#fde0dc"/>`);
  for (let v = 0; v <= max; v += Math.max(1, Math.ceil(max / 5))) out.push(`<line x1="${L}" y1="${num(y(v))}" x2="${W - 20}" y2="${num(y(v))}" stroke="#eee"/>`, `<text x="${L - 6}" y="${num(y(v) + 4)}" text-anchor="end">${v}</text>`);
  example.counts.forEach((c, i) => {
    out.push(`<rect x="${num(L + i * bw)}" y="${num(y(c))}" width="${num(bw * 0.85)}" height="${num(T + PH - y(c))}" fill="#999"/>`);
    if (example.extra[i] > 0) out.push(`<rect x="${num(L + i * bw)}" y="${num(y(c + example.extra[i]))}" width="${num(bw * 0.85)}" height="${num(y(c) - y(c + example.extra[i]))}" fill="#d62728"/>`);
  });
  out.push(`<text transform="translate(${L - 34} ${T + PH / 2}) rotate(-90)" text-anchor="middle">cases per day</text>`);
  methods.forEach((m, mi) => {
    const yy = T + PH + 30 + mi * rowH;
    out.push(`<text x="${L - 8}" y="${yy + 4}" text-anchor="end">${esc(labels[m] ?? m)}</text>`, `<line x1="${L}" y1="${yy}" x2="${W - 20}" y2="${yy}" stroke="#eee"/>`);
    for (const d of example.alarms[m]) out.push(`<circle cx="${num(L + (d + 0.42) * bw)}" cy="${yy}" r="4" fill="${COLOURS[mi % COLOURS.length]}"/>`);
  });
  out.push(...legend(12, T + 10, [{ label: 'background cases', colour: '#999' }, { label: 'injected outbreak cases', colour: '#d62728' }, { label: 'outbreak days', colour: '#fde0dc' }]));
  out.push(`<text x="12" y="${T + PH + 30}" fill="#555">dots: alarm days</text>`, '</svg>', '');
  return out.join('\n');
}
