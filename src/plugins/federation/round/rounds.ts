/** The rounds on an exchange: `rounds/0001/`, `rounds/0002/`… numbered without gaps. */
import type { Exchange } from '../exchange/index.js'
import { roundFiles, roundId } from './layout.js'

/** Every round with files and their names, oldest first (probing upward: an exchange lists files, not folders). */
export async function roundListings(exchange: Exchange): Promise<{ round: string; names: string[] }[]> {
  const out: { round: string; names: string[] }[] = []
  for (let n = 1; ; n++) {
    const round = roundId(n)
    const names = await exchange.list(roundFiles(round).dir)
    if (names.length === 0) return out
    out.push({ round, names })
  }
}

export const listRounds = async (exchange: Exchange): Promise<string[]> =>
  (await roundListings(exchange)).map((r) => r.round)

export const nextRoundId = (rounds: readonly string[]): string => roundId(rounds.length + 1)
