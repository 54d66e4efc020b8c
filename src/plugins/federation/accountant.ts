/**
 * The privacy accountant: how much of this member's privacy budget its contributions spent, and a
 * refusal (FEDERATION_BUDGET, saying when budget frees up) for one that would go past it.
 *
 * Composition is basic: the ε (and δ) of the contributions made in the last `periodDays` add up,
 * and must stay within `budget` (and `deltaBudget`). The window slides: a contribution stops
 * counting `periodDays` after it was made. The ledger is one file for the member, across groups
 * (the same ratings are exposed whichever group receives them): `$MIRADOR_HOME/federation/budget.json`,
 * 0600, rewritten atomically under `budget.lock`, holding only round ids, ε, δ and times. An
 * unreadable ledger refuses contributions rather than forgetting what was spent.
 */
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { MiradorError } from '../../engine/errors.js'
import { writeFileAtomic } from '../../lib/atomic-write.js'
import { ensurePrivateDir } from '../../lib/crypto.js'
import { withFileLock } from '../../lib/file-lock.js'
import { PRIVACY_DEFAULTS } from './dp.js'

const DAY = 86_400_000
/** spends older than this are dropped from the ledger: no period may be longer */
export const MAX_PERIOD_DAYS = 365

export interface Spend {
  round: string
  epsilon: number
  delta: number
  /** ms since the epoch */
  at: number
}

export interface BudgetPolicy {
  /** ε per period */
  budget: number
  periodDays: number
  /** δ per period (Gaussian contributions); default 1e-5 */
  deltaBudget?: number
}

export const DEFAULT_POLICY: Required<BudgetPolicy> = {
  budget: PRIVACY_DEFAULTS.budget,
  periodDays: PRIVACY_DEFAULTS.periodDays,
  deltaBudget: 1e-5,
}

export interface BudgetStatus {
  spentEpsilon: number
  spentDelta: number
  leftEpsilon: number
  leftDelta: number
  periodDays: number
  /** the spends that count now, oldest first */
  spends: Spend[]
}

interface Ledger {
  v: 1
  spends: Spend[]
}

export interface AccountantOptions {
  /** $MIRADOR_HOME */
  home: string
  policy?: BudgetPolicy
  /** the clock (tests move it) */
  now?: () => number
}

const sum = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0)
/** float sums of ε such as 0.1 + 0.2 must not refuse what fits */
const SLACK = 1e-9

export class Accountant {
  readonly file: string
  readonly #lock: string
  readonly #policy: Required<BudgetPolicy>
  readonly #now: () => number

  constructor(options: AccountantOptions) {
    this.file = path.join(options.home, 'federation', 'budget.json')
    this.#lock = path.join(options.home, 'federation', 'budget.lock')
    this.#policy = { ...DEFAULT_POLICY, ...options.policy }
    this.#now = options.now ?? Date.now
    const { budget, periodDays, deltaBudget } = this.#policy
    if (!(budget > 0 && Number.isFinite(budget)) || !(deltaBudget >= 0 && Number.isFinite(deltaBudget)))
      throw new MiradorError('FEDERATION_PARAMS', `a privacy budget must be a number > 0, not ${budget}`)
    if (!(Number.isInteger(periodDays) && periodDays >= 1 && periodDays <= MAX_PERIOD_DAYS))
      throw new MiradorError('FEDERATION_PARAMS', `period_days must be a whole number from 1 to ${MAX_PERIOD_DAYS}`)
  }

  /** What was spent in the current window and what is left. */
  async status(): Promise<BudgetStatus> {
    return this.#statusOf(await this.#read(), this.#now())
  }

  /**
   * Records a contribution to `round` of (ε, δ), or refuses it with FEDERATION_BUDGET when it would
   * go past the budget. Call it before the contribution leaves the machine.
   */
  async spend(round: string, epsilon: number, delta = 0): Promise<BudgetStatus> {
    if (!(epsilon > 0 && Number.isFinite(epsilon) && delta >= 0 && Number.isFinite(delta)))
      throw new MiradorError('FEDERATION_PARAMS', `a contribution spends ε > 0 and δ ≥ 0, not ε ${epsilon}, δ ${delta}`)
    await ensurePrivateDir(path.dirname(this.file))
    return withFileLock(
      this.#lock,
      async () => {
        const now = this.#now()
        const ledger = await this.#read()
        this.#refuseIfOver(this.#statusOf(ledger, now), epsilon, delta)
        const keep = ledger.spends.filter((s) => s.at > now - MAX_PERIOD_DAYS * DAY)
        const next: Ledger = { v: 1, spends: [...keep, { round, epsilon, delta, at: now }] }
        await writeFileAtomic(this.file, JSON.stringify(next, null, 2) + '\n', 0o600)
        return this.#statusOf(next, now)
      },
      { what: 'the federation privacy budget' },
    )
  }

  /** Throws FEDERATION_BUDGET when (ε, δ) would not fit now; for `contribute --dry-run`. */
  async check(epsilon: number, delta = 0): Promise<BudgetStatus> {
    const status = await this.status()
    this.#refuseIfOver(status, epsilon, delta)
    return status
  }

  #statusOf(ledger: Ledger, now: number): BudgetStatus {
    const { budget, periodDays, deltaBudget } = this.#policy
    const spends = ledger.spends.filter((s) => s.at > now - periodDays * DAY && s.at <= now)
    const spentEpsilon = sum(spends.map((s) => s.epsilon))
    const spentDelta = sum(spends.map((s) => s.delta))
    return {
      spentEpsilon,
      spentDelta,
      leftEpsilon: Math.max(0, budget - spentEpsilon),
      leftDelta: Math.max(0, deltaBudget - spentDelta),
      periodDays,
      spends,
    }
  }

  #refuseIfOver(status: BudgetStatus, epsilon: number, delta: number): void {
    const { budget, periodDays, deltaBudget } = this.#policy
    const fits = (e: number, d: number) => e + epsilon <= budget + SLACK && d + delta <= deltaBudget * (1 + SLACK)
    if (fits(status.spentEpsilon, status.spentDelta)) return
    const what = `ε ${epsilon}${delta ? `, δ ${delta}` : ''}`
    const left = `ε ${round6(status.leftEpsilon)} of ${budget}${deltaBudget && delta ? `, δ ${status.leftDelta}` : ''}`
    if (epsilon > budget + SLACK || delta > deltaBudget)
      throw new MiradorError(
        'FEDERATION_BUDGET',
        `a contribution of ${what} is more than the whole budget per ${periodDays} days ` +
          `(ε ${budget}, δ ${deltaBudget}); ` +
          'contribute with a smaller --epsilon.',
        { details: { epsilon, delta, budget, deltaBudget } },
      )
    // the oldest spends leave the window one by one: find the first moment enough has left
    let e = status.spentEpsilon
    let d = status.spentDelta
    let freesAt = status.spends.at(-1)!.at + periodDays * DAY
    for (const s of status.spends) {
      e -= s.epsilon
      d -= s.delta
      if (fits(e, d)) {
        freesAt = s.at + periodDays * DAY
        break
      }
    }
    throw new MiradorError(
      'FEDERATION_BUDGET',
      `a contribution of ${what} would go past this period's privacy budget ` +
        `(${left} left, ${periodDays}-day window); enough frees up on ${new Date(freesAt).toISOString()}. ` +
        'Wait until then, or contribute with a smaller --epsilon.',
      { details: { epsilon, delta, leftEpsilon: status.leftEpsilon, leftDelta: status.leftDelta, freesAt } },
    )
  }

  async #read(): Promise<Ledger> {
    let text: string
    try {
      text = await readFile(this.file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { v: 1, spends: [] }
      throw this.#damaged(`cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, err)
    }
    let v: unknown
    try {
      v = JSON.parse(text)
    } catch (err) {
      throw this.#damaged('is not JSON', err)
    }
    const l = v as Partial<Ledger>
    if (!l || l.v !== 1 || !Array.isArray(l.spends) || !l.spends.every(isSpend)) throw this.#damaged('is not a ledger')
    return { v: 1, spends: l.spends }
  }

  #damaged(why: string, cause?: unknown): MiradorError {
    return new MiradorError(
      'FEDERATION_BUDGET',
      `the privacy budget ledger ${this.file} ${why}, so the budget spent is unknown and nothing is contributed. ` +
        'Restore it from a backup, or delete it to start the count afresh ' +
        '(your own choice: it forgets what was spent).',
      { cause, details: { file: this.file } },
    )
  }
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6

function isSpend(s: unknown): s is Spend {
  const o = s as Partial<Spend>
  return (
    !!o &&
    typeof o.round === 'string' &&
    typeof o.epsilon === 'number' &&
    Number.isFinite(o.epsilon) &&
    typeof o.delta === 'number' &&
    Number.isFinite(o.delta) &&
    typeof o.at === 'number' &&
    Number.isFinite(o.at)
  )
}
