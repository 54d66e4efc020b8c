/**
 * The Gaussian mechanism's σ for (ε, δ)-DP, by the analytic calibration of Balle and Wang (ICML
 * 2018, Theorem 8): adding N(0, σ²) to a query of L2 sensitivity Δ is (ε, δ)-DP if and only if
 *
 *     Φ(Δ/(2σ) − εσ/Δ) − e^ε · Φ(−Δ/(2σ) − εσ/Δ) ≤ δ
 *
 * The left side falls as σ grows, so the smallest such σ is found by bisection. Unlike the classic
 * σ = Δ·√(2 ln(1.25/δ))/ε, it holds for every ε (the classic bound only for ε < 1) and is smaller.
 */

/** erfc(x), Numerical Recipes' Chebyshev fit: relative error below 1.2e-7 everywhere. */
function erfc(x: number): number {
  const z = Math.abs(x)
  const t = 1 / (1 + 0.5 * z)
  const poly =
    -1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t *
                  (-0.18628806 +
                    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))))
  const r = t * Math.exp(-z * z + poly)
  return x >= 0 ? r : 2 - r
}

/** The standard normal CDF. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2)
}

/** The δ a σ gives at ε for sensitivity Δ (the left side above). */
export function gaussianDelta(sigma: number, epsilon: number, sensitivity: number): number {
  const a = sensitivity / (2 * sigma)
  const b = (epsilon * sigma) / sensitivity
  return normalCdf(a - b) - Math.exp(epsilon) * normalCdf(-a - b)
}

/** The smallest σ (to 1e-9 relative) with gaussianDelta(σ) ≤ δ. */
export function analyticGaussianSigma(epsilon: number, delta: number, sensitivity: number): number {
  let lo = 0
  let hi = sensitivity
  while (gaussianDelta(hi, epsilon, sensitivity) > delta) hi *= 2
  while (hi - lo > hi * 1e-9) {
    const mid = (lo + hi) / 2
    if (mid > 0 && gaussianDelta(mid, epsilon, sensitivity) <= delta) hi = mid
    else lo = mid
  }
  return hi // the end that satisfies δ
}
