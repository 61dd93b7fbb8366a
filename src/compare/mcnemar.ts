/**
 * McNemar's test: do two classifiers, scored on the same rows, really differ?
 * Only the discordant rows count: b = rows A got right and B wrong, c = the
 * reverse. Under "no difference" b ~ Binomial(b + c, 1/2).
 *
 * With few discordant rows (b + c < 25) the exact two-sided binomial p-value
 * is used; otherwise the chi-square statistic with Edwards' continuity
 * correction, (|b - c| - 1)^2 / (b + c), on one degree of freedom.
 */

export const EXACT_BELOW = 25;

export interface McNemarCounts {
  /** Both right. */
  both_correct: number;
  /** A right, B wrong (b). */
  a_only: number;
  /** B right, A wrong (c). */
  b_only: number;
  /** Both wrong. */
  both_wrong: number;
}

export interface McNemarTest {
  method: 'exact-binomial' | 'chi-square-cc';
  /** The chi-square statistic (null for the exact test). */
  statistic: number | null;
  p_value: number;
}

/** Counts the 2x2 table of right/wrong for two prediction arrays against the truth. */
export function mcnemarCounts(truth: ArrayLike<number>, a: ArrayLike<number>, b: ArrayLike<number>): McNemarCounts {
  if (truth.length !== a.length || truth.length !== b.length) throw new Error('McNemar: predictions and truth differ in length');
  const t: McNemarCounts = { both_correct: 0, a_only: 0, b_only: 0, both_wrong: 0 };
  for (let i = 0; i < truth.length; i++) {
    const ra = a[i] === truth[i],
      rb = b[i] === truth[i];
    if (ra && rb) t.both_correct++;
    else if (ra) t.a_only++;
    else if (rb) t.b_only++;
    else t.both_wrong++;
  }
  return t;
}

/** The test on the discordant counts b (A right only) and c (B right only). */
export function mcnemarTest(b: number, c: number): McNemarTest {
  const n = b + c;
  if (n === 0) return { method: 'exact-binomial', statistic: null, p_value: 1 };
  if (n < EXACT_BELOW) {
    // Two-sided: twice the smaller tail, capped at 1.
    let tail = 0;
    for (let k = 0; k <= Math.min(b, c); k++) tail += binomialHalf(n, k);
    return { method: 'exact-binomial', statistic: null, p_value: Math.min(1, 2 * tail) };
  }
  const statistic = (Math.abs(b - c) - 1) ** 2 / n;
  return { method: 'chi-square-cc', statistic, p_value: chiSquare1Sf(statistic) };
}

/** C(n, k) / 2^n, in logs so it stays exact enough for any n we meet. */
function binomialHalf(n: number, k: number): number {
  return Math.exp(logChoose(n, k) - n * Math.LN2);
}

function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log(n - k + i) - Math.log(i);
  return s;
}

/** P(X > x) for X ~ chi-square with one degree of freedom: erfc(sqrt(x / 2)). */
export function chiSquare1Sf(x: number): number {
  return x <= 0 ? 1 : erfc(Math.sqrt(x / 2));
}

/**
 * Complementary error function (Numerical Recipes' Chebyshev fit, relative
 * error below 1.2e-7 everywhere): plenty for a p-value.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** A p-value for people: two significant digits, scientific notation when tiny. */
export function formatP(p: number): string {
  return p < 0.0001 ? p.toExponential(1) : p.toPrecision(2);
}
