/**
 * Where a round's files sit on the exchange and on this member's machine. A round is the folder
 * `rounds/<round>/` of the exchange, round ids are `0001`, `0002`…; every file in it is create-only.
 */
import path from 'node:path'
import { federationPaths } from '../paths.js'

export const ROUNDS_DIR = 'rounds'
const ROUND_ID = /^\d{4,}$/

export const roundId = (n: number): string => String(n).padStart(4, '0')
export const roundNumber = (id: string): number => (ROUND_ID.test(id) ? Number(id) : NaN)
export const isRoundId = (id: string): boolean => ROUND_ID.test(id)

/** The exchange paths of one round's files. */
export const roundFiles = (round: string) => {
  const dir = `${ROUNDS_DIR}/${round}`
  return {
    dir,
    open: `${dir}/open.json`,
    commit: (member: string) => `${dir}/commit-${member}.json`,
    commits: `${dir}/commits.json`,
    bundle: (member: string) => `${dir}/bundle-${member}.json`,
    survivors: `${dir}/survivors.json`,
    reveal: (member: string) => `${dir}/reveal-${member}.json`,
    result: `${dir}/result.json`,
    failed: `${dir}/failed.json`,
  }
}

/** The per-member files of a round: `commit-<id>.json` → { kind: 'commit', member: id }. */
export function parseMemberFile(name: string): { kind: 'commit' | 'bundle' | 'reveal'; member: string } | undefined {
  const m = /^(commit|bundle|reveal)-(.+)\.json$/.exec(name)
  return m ? { kind: m[1] as 'commit' | 'bundle' | 'reveal', member: m[2]! } : undefined
}

/** This member's private state of a round: `federation/rounds/<group>/<round>/state.json` (0600). */
export const stateFile = (home: string, group: string, round: string): string =>
  path.join(federationPaths(home).rounds, group, round, 'state.json')
