// Ordinary least squares for the capacity model's unit costs: y = b0*x0 + b1*x1 + ... over measured
// points (an intercept is a column of ones). Small and dependency-free: the bench fits 3 or 4
// coefficients over a few hundred points.

export interface Fit {
  coefficients: number[];
  /** Coefficient of determination, 1 - SS_res / SS_tot (1 when every point is on the fit). */
  r2: number;
  /** Root-mean-square residual, in y's unit. */
  rmse: number;
}

/** Least squares of y on the columns of x (each row one point). Throws when the columns are dependent. */
export function leastSquares(x: readonly (readonly number[])[], y: readonly number[]): Fit {
  const n = y.length;
  const k = x[0]?.length ?? 0;
  if (n === 0 || k === 0 || x.length !== n) throw new Error(`leastSquares: need as many rows as values (got ${x.length} rows, ${n} values) and at least one column`);
  if (n < k) throw new Error(`leastSquares: ${n} point(s) cannot fit ${k} coefficient(s)`);
  // Normal equations (X'X) b = X'y, solved by Gaussian elimination with partial pivoting.
  const a = Array.from({ length: k }, (_, i) => Array.from({ length: k + 1 }, (_, j) => {
    let sum = 0;
    for (let r = 0; r < n; r += 1) sum += x[r]![i]! * (j === k ? y[r]! : x[r]![j]!);
    return sum;
  }));
  for (let col = 0; col < k; col += 1) {
    let pivot = col;
    for (let r = col + 1; r < k; r += 1) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    const scale = Math.max(1e-300, ...a.map((row) => Math.abs(row[col]!)));
    if (Math.abs(a[pivot]![col]!) <= scale * 1e-12) throw new Error(`leastSquares: column ${col} is a combination of the others; vary it in the measurements`);
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    for (let r = 0; r < k; r += 1) {
      if (r === col) continue;
      const factor = a[r]![col]! / a[col]![col]!;
      for (let c = col; c <= k; c += 1) a[r]![c]! -= factor * a[col]![c]!;
    }
  }
  const coefficients = a.map((row, i) => row[k]! / row[i]!);
  const mean = y.reduce((s, v) => s + v, 0) / n;
  let ssRes = 0;
  let ssTot = 0;
  for (let r = 0; r < n; r += 1) {
    const predicted = x[r]!.reduce((s, v, i) => s + v * coefficients[i]!, 0);
    ssRes += (y[r]! - predicted) ** 2;
    ssTot += (y[r]! - mean) ** 2;
  }
  return { coefficients, r2: ssTot === 0 ? 1 : 1 - ssRes / ssTot, rmse: Math.sqrt(ssRes / n) };
}

/**
 * Least squares with every coefficient >= 0: a unit cost cannot be negative, and a noisy machine can
 * make a small one come out below zero. Columns whose coefficient is negative are dropped (their
 * coefficient set to 0), the most negative first, and the rest refitted.
 */
export function nonNegativeLeastSquares(x: readonly (readonly number[])[], y: readonly number[]): Fit & { dropped: number[] } {
  const k = x[0]?.length ?? 0;
  const kept = Array.from({ length: k }, (_, i) => i);
  const dropped: number[] = [];
  for (;;) {
    const fit = leastSquares(x.map((row) => kept.map((i) => row[i]!)), y);
    const worst = fit.coefficients.reduce((w, c, i) => (c < 0 && (w < 0 || c < fit.coefficients[w]!) ? i : w), -1);
    if (worst < 0 || kept.length === 1) {
      const coefficients = new Array<number>(k).fill(0);
      kept.forEach((column, i) => (coefficients[column] = Math.max(0, fit.coefficients[i]!)));
      return { ...fit, coefficients, dropped };
    }
    dropped.push(kept[worst]!);
    kept.splice(worst, 1);
  }
}
