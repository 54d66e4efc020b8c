/** The rounds on an exchange: `rounds/0001/`, `rounds/0002/`… numbered without gaps. */
import type { Exchange } from '../exchange/index.js'
import { roundFiles, roundId } from './layout.js'

/** Every round id with files, oldest first (probing upward: an exchange lists files, not folders). */
export async function listRounds(exchange: Exchange): Promise<string[]> {
  const out: string[] = []
  for (let n = 1; ; n++) {
    const id = roundId(n)
    if ((await exchange.list(roundFiles(id).dir)).length === 0) return out
    out.push(id)
  }
}

export const nextRoundId = (rounds: readonly string[]): string => roundId(rounds.length + 1)
