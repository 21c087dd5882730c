/**
 * Server-rendered SVG bar charts: no JavaScript, and every chart is followed on the page by a
 * table of its numbers, so that screen readers and printouts read the figures.
 */
export interface ChartRow {
  label: string;
  value: number;
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The width a label takes at 13px: full-width characters about 13px, others about 7.5px. */
function labelPixels(label: string): number {
  let px = 0;
  for (const ch of label) {
    const code = ch.codePointAt(0) ?? 0;
    px += code < 0x100 || (code >= 0xff61 && code <= 0xff9f) ? 7.5 : 13;
  }
  return Math.ceil(px);
}

export function barChart(id: string, title: string, rows: ChartRow[], opts: { width?: number } = {}): string {
  // The label column fits the longest label, so that none is cut off; the chart grows with it.
  const labelWidth = Math.max(120, ...rows.map((r) => labelPixels(r.label) + 16));
  const width = Math.max(opts.width ?? 420, labelWidth + 200);
  const barHeight = 22;
  const gap = 8;
  const max = Math.max(1, ...rows.map((r) => r.value));
  const plot = width - labelWidth - 60;
  const height = rows.length * (barHeight + gap) + gap;
  const bars = rows
    .map((r, i) => {
      const y = gap + i * (barHeight + gap);
      const w = Math.round((r.value / max) * plot);
      return (
        `<text x="${labelWidth - 8}" y="${y + barHeight * 0.72}" text-anchor="end">${escape(r.label)}</text>` +
        `<rect class="bar${i % 2 ? ' alt' : ''}" x="${labelWidth}" y="${y}" width="${w}" height="${barHeight}" rx="3"></rect>` +
        `<text x="${labelWidth + w + 6}" y="${y + barHeight * 0.72}">${r.value.toLocaleString('ja-JP')}</text>`
      );
    })
    .join('');
  return `<svg class="chart" role="img" aria-labelledby="${id}-title" viewBox="0 0 ${width} ${height}" width="100%" preserveAspectRatio="xMinYMin meet"><title id="${id}-title">${escape(title)}</title>${bars}</svg>`;
}
