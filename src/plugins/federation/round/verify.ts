/**
 * `federation verify`: every file of every round checked (signatures by roster members, group and
 * round, names, consistency with the round's closings) and every result recomputed from the files
 * (total, commitments, Merkle root). Reading needs no secrets: any member, or anyone holding the
 * group file, can run it.
 */
import type { Exchange } from '../exchange/index.js'
import type { Group } from '../group.js'
import { waitingOf } from './advance.js'
import { checkResult } from './opening.js'
import { readRound } from './read.js'
import { listRounds } from './rounds.js'
import type { Problem } from './types.js'

export interface RoundCheck {
  round: string
  phase: 'commit' | 'mask' | 'reveal' | 'done' | 'failed'
  /** bundles summed in its result */
  counted: number
  problems: Problem[]
}

export async function verifyExchange(
  exchange: Exchange,
  group: Group,
): Promise<{ rounds: RoundCheck[]; problems: Problem[] }> {
  const rounds: RoundCheck[] = []
  for (const id of await listRounds(exchange)) {
    const view = await readRound(exchange, group, id)
    const wrong = checkResult(group, view)
    const problems = [...view.problems, ...(wrong ? [wrong] : [])]
    rounds.push({ round: id, phase: waitingOf(view).phase, counted: view.result?.commitments.length ?? 0, problems })
  }
  return { rounds, problems: rounds.flatMap((r) => r.problems) }
}
