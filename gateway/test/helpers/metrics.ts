/**
 * The sum of every series of `name` in a Prometheus text exposition whose labels include
 * `labels` (all of them, exactly); `undefined` when no series matches.
 */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let sum: number | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line.trim());
    if (match === null || match[1] !== name) continue;
    const series = new Map<string, string>();
    for (const pair of (match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) series.set(pair[1]!, pair[2]!);
    if (!Object.entries(labels).every(([label, value]) => series.get(label) === value)) continue;
    sum = (sum ?? 0) + Number(match[3]);
  }
  return sum;
}
