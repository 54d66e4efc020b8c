/**
 * Gamma and normal draws from a uniform source the caller passes in, shared by the learner's
 * Thompson sampling (a seeded generator: Beta draws are ratios of Gamma draws) and federation's
 * distributed Laplace noise (crypto uniforms: a share of Laplace(b) is the difference of two
 * Gamma(1/k, b) draws).
 *
 * Gamma(shape ≥ 1) is Marsaglia and Tsang's rejection method (2000), exact up to floating point.
 * Gamma(shape < 1) uses the boost Gamma(a) = Gamma(a + 1)·U^(1/a) (Stuart's theorem), also exact:
 * with small shapes (1/50 for a round of 50) U^(1/a) is often tiny and underflows to 0 only when
 * U < 2^(-1074·a), about 3·10⁻⁷ at a = 1/50, where the true value is below 10⁻³⁰⁰ anyway.
 */
import { MiradorError } from '../engine/errors.js'

/** A uniform draw in (0, 1]: never 0, so logs and powers of it are finite. */
const unit = (uniform: () => number) => 1 - uniform()

/** A standard normal draw (Box–Muller; one of the pair is used); `uniform` gives numbers in [0, 1). */
export function sampleNormal(uniform: () => number): number {
  return Math.sqrt(-2 * Math.log(unit(uniform))) * Math.cos(2 * Math.PI * uniform())
}

/** A Gamma(shape, 1) draw, shape > 0; `uniform` gives numbers in [0, 1) (see the file's comment). */
export function sampleGamma(uniform: () => number, shape: number): number {
  if (!(shape > 0 && Number.isFinite(shape)))
    throw new MiradorError('INTERNAL', `a Gamma shape must be a finite number > 0, not ${shape}`)
  if (shape < 1) return sampleGamma(uniform, shape + 1) * Math.pow(unit(uniform), 1 / shape)
  const d = shape - 1 / 3
  const c = 1 / Math.sqrt(9 * d)
  for (;;) {
    let x: number
    let v: number
    do {
      x = sampleNormal(uniform)
      v = 1 + c * x
    } while (v <= 0)
    v = v * v * v
    const u = unit(uniform)
    if (u < 1 - 0.0331 * x * x * x * x) return d * v
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v
  }
}
