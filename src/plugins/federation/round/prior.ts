/**
 * prior.json: the newest opened round's total, in the form the learner's community prior reads
 * (docs/federation.md, "Rounds"): the vocabulary of the round, the totals in vector order and the
 * standard deviation of the noise each slot of the sum carries.
 */
import { writeFileAtomic } from '../../../lib/atomic-write.js'
import { ensurePrivateDir } from '../../../lib/crypto.js'
import type { Mechanism } from '../dp.js'
import type { Group } from '../group.js'
import { federationPaths } from '../paths.js'
import { sumNoiseSd } from './params.js'
import type { RoundView } from './types.js'

export interface Prior {
  v: 1
  group: string
  round: string
  /** when the result was signed */
  opened: string
  /** how many contributions the total sums */
  members: number
  vocabulary: { queryTypes: string[]; chains: string[] }
  /** [positive, negative] per (type, chain), in vocabulary order */
  totals: number[]
  noise: { mechanism: Mechanism; epsilon: number; sd: number }
}

/** The prior of a round with a verified result. */
export function priorOf(group: Group, view: RoundView): Prior | undefined {
  const { result, open, closedMask } = view
  if (!result || !open || !closedMask || !Array.isArray(result.total)) return undefined
  const params = closedMask.body.survivors.flatMap((id) => {
    const b = view.bundles.get(id)
    return b ? [b.bundle.params] : []
  })
  return {
    v: 1,
    group: group.group,
    round: view.round,
    opened: result.created,
    members: result.commitments.length,
    vocabulary: open.body.vocabulary,
    totals: result.total as number[],
    noise: {
      mechanism: open.body.params.mechanism,
      epsilon: open.body.params.epsilon,
      sd: Math.round(sumNoiseSd(params) * 1000) / 1000,
    },
  }
}

export async function writePrior(home: string, prior: Prior): Promise<string> {
  const file = federationPaths(home).prior
  await ensurePrivateDir(federationPaths(home).dir)
  await writeFileAtomic(file, JSON.stringify(prior, null, 2) + '\n', 0o600)
  return file
}
