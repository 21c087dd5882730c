/**
 * Server-rendered SVG bar charts: no JavaScript, and every chart is followed on the page by a
 * table of its numbers, so that screen readers and printouts read the figures.
 */
export interface ChartRow {
  label: string;
  value: number;
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function barChart(id: string, title: string, rows: ChartRow[], opts: { width?: number } = {}): string {
  const width = opts.width ?? 420;
  const labelWidth = 170;
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
