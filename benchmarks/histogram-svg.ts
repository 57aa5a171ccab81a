import type { Summary } from './stats.ts';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2'];

/**
 * Latency histograms, one row per series on a shared log-scale millisecond axis, with
 * p50/p95/p99 marked: how the stages of one request compare, at a glance.
 */
export function latencyHistogramSvg(title: string, series: { name: string; values: number[]; summary: Summary }[]): string {
  const W = 760;
  const rowH = 70;
  const M = { left: 170, right: 20, top: 40, bottom: 40 };
  const H = M.top + M.bottom + rowH * series.length;
  const all = series.flatMap((s) => s.values).filter((v) => v > 0);
  const lo = Math.log10(Math.max(1e-3, Math.min(...all)));
  const hi = Math.log10(Math.max(...all)) + 1e-9;
  const x = (v: number) => M.left + ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo || 1)) * (W - M.left - M.right);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="13">${esc(title)}</text>`,
  ];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (Math.log10(v) < lo || Math.log10(v) > hi) continue;
      out.push(`<line x1="${x(v)}" y1="${M.top}" x2="${x(v)}" y2="${H - M.bottom}" stroke="#eee"/>`,
        `<text x="${x(v)}" y="${H - M.bottom + 14}" text-anchor="middle">${v >= 1 ? v : v.toPrecision(1)}</text>`);
    }
  }
  out.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 8}" text-anchor="middle">milliseconds (log scale)</text>`);
  const bins = 40;
  series.forEach((s, row) => {
    const top = M.top + row * rowH;
    const colour = COLOURS[row % COLOURS.length];
    const counts = new Array(bins).fill(0);
    for (const v of s.values) counts[Math.min(bins - 1, Math.floor(((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo || 1)) * bins))]++;
    const peak = Math.max(...counts, 1);
    const bw = (W - M.left - M.right) / bins;
    counts.forEach((n, i) => {
      const h = (n / peak) * (rowH - 18);
      if (n) out.push(`<rect x="${M.left + i * bw}" y="${top + rowH - 8 - h}" width="${bw - 1}" height="${h}" fill="${colour}" opacity="0.75"/>`);
    });
    for (const [q, v] of [['p50', s.summary.p50], ['p95', s.summary.p95], ['p99', s.summary.p99]] as const) {
      out.push(`<line x1="${x(v)}" y1="${top + 6}" x2="${x(v)}" y2="${top + rowH - 8}" stroke="#000" stroke-dasharray="${q === 'p50' ? '' : '2 2'}"/>`);
    }
    out.push(`<text x="${M.left - 8}" y="${top + rowH / 2}" text-anchor="end">${esc(s.name)}</text>`,
      `<text x="${M.left - 8}" y="${top + rowH / 2 + 13}" text-anchor="end" fill="#555">p50 ${s.summary.p50.toFixed(2)} · p99 ${s.summary.p99.toFixed(2)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}
