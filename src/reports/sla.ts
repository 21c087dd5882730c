/** The notice SLA as the ward configured it, in words: 14日, 2時間, 5分 (policies in tests may be shorter than a day). */
export function slaLabel(ms: number): string {
  return ms >= 86_400_000 ? `${Math.round(ms / 86_400_000)}日` : ms >= 3_600_000 ? `${Math.round(ms / 3_600_000)}時間` : `${Math.max(1, Math.round(ms / 60_000))}分`;
}
