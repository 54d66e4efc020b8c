/**
 * Opening a round's sum from its verified files, the same way on every machine: the committed
 * members' commits, the survivors' bundles and the valid reveals go to secure aggregation; the
 * result lists the survivors' bundle commitments. `checkResult` recomputes a posted result.
 */
import { canonicalJson } from '../canonical.js'
import type { Group } from '../group.js'
import { merkleRoot, sortedLeaves } from '../merkle.js'
import { MiradorError } from '../../../engine/errors.js'
import { aggregate } from '../secagg/index.js'
import type { Problem, RoundView } from './types.js'

export interface Opened {
  total: number[]
  commitments: string[]
  survivors: string[]
  dropped: string[]
}

/** Whether enough reveals are in to open the sum. */
export const canOpen = (view: RoundView): boolean =>
  !!view.open && !!view.closedMask && view.reveals.size >= view.open.body.t

export function openSum(group: Group, view: RoundView): Opened {
  const terms = view.open?.body
  const lists = view.closedMask?.body
  const committed = view.closedCommits?.body.committed
  if (!terms || !lists || !committed)
    throw new MiradorError('FEDERATION_ROUND', `round ${view.round} has not closed its mask phase: it cannot open yet`)
  const r = aggregate({
    group: group.group,
    round: view.round,
    threshold: terms.t,
    commits: committed.map((id) => view.commits.get(id)!.body),
    masked: lists.survivors.map((id) => view.bundles.get(id)!.bundle.payload),
    reveals: [...view.reveals.values()].map((e) => e.body),
  })
  return {
    total: r.sum,
    commitments: sortedLeaves(lists.survivors.map((id) => view.bundles.get(id)!.commitment)),
    survivors: r.survivors,
    dropped: r.dropped,
  }
}

/** The problem with a posted result, recomputed from the round's files; undefined when it matches. */
export function checkResult(group: Group, view: RoundView): Problem | undefined {
  const result = view.result
  if (!result) return undefined
  const file = `rounds/${view.round}/result.json`
  let opened: Opened
  try {
    opened = openSum(group, view)
  } catch (err) {
    return { file, reason: 'wrong-total', message: `it cannot be recomputed: ${MiradorError.from(err).message}` }
  }
  if (canonicalJson(opened.commitments) !== canonicalJson(result.commitments))
    return { file, reason: 'wrong-total', message: "its commitments are not those of the survivors' bundles" }
  if (merkleRoot(opened.commitments) !== result.root)
    return { file, reason: 'wrong-total', message: 'its Merkle root is not that of the bundles summed' }
  if (canonicalJson(opened.total) !== canonicalJson(result.total))
    return { file, reason: 'wrong-total', message: 'its total is not the sum the round opens to' }
  return undefined
}
