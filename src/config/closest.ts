// The one edit distance (optimal string alignment: a swap of two neighbours counts as one edit),
// for "did you mean" suggestions of env names, secret names, commands and options.
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i += 1) {
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The name within two edits of `wanted` (a swap counts as one), if exactly one is closest. */
export function closestName(wanted: string, names: readonly string[]): string | undefined {
  const scored = names.map((name) => ({ name, distance: editDistance(wanted, name) })).filter((entry) => entry.distance <= 2);
  scored.sort((a, b) => a.distance - b.distance);
  if (scored.length === 0 || (scored.length > 1 && scored[0]!.distance === scored[1]!.distance)) return undefined;
  return scored[0]!.name;
}
