/**
 * This member's private state of a round, kept between commands: the secure-aggregation secrets
 * (secagg MemberState) and the noised vector it will mask. It never leaves the machine:
 * `federation/rounds/<group>/<round>/state.json`, 0600 in 0700 folders, rewritten atomically.
 * Written before the commit is posted, so a crash after posting never loses the secrets.
 */
import path from 'node:path'
import { MiradorError } from '../../../engine/errors.js'
import { writeFileAtomic } from '../../../lib/atomic-write.js'
import { ensurePrivateDir } from '../../../lib/crypto.js'
import type { PrivacyParams } from '../dp.js'
import { federationPaths } from '../paths.js'
import type { MemberState } from '../secagg/index.js'
import { stateFile } from './layout.js'
import { readTextIfExists } from '../../../lib/read-if-exists.js'

export interface RoundState {
  v: 1
  group: string
  round: string
  member: string
  /** this member's contribution after clipping and noise: what its bundle masks */
  noised: number[]
  params: PrivacyParams
  secagg: MemberState
  /** what this member posted, kept so that a post lost to a crash is posted again with the same bytes */
  posted: { commit?: unknown; bundle?: unknown; reveal?: unknown }
}

export async function readState(home: string, group: string, round: string): Promise<RoundState | undefined> {
  const file = stateFile(home, group, round)
  let text: string | undefined
  try {
    text = await readTextIfExists(file)
  } catch (err) {
    throw damaged(file, String((err as NodeJS.ErrnoException).code ?? err), err)
  }
  if (text === undefined) return undefined
  try {
    const s = JSON.parse(text) as RoundState
    if (s.v !== 1 || s.group !== group || s.round !== round || !Array.isArray(s.noised)) throw new Error('not a state')
    return s
  } catch (err) {
    throw damaged(file, 'not a round state', err)
  }
}

export async function writeState(home: string, state: RoundState): Promise<void> {
  const rounds = federationPaths(home).rounds
  const file = stateFile(home, state.group, state.round)
  for (const dir of [rounds, path.dirname(path.dirname(file)), path.dirname(file)]) await ensurePrivateDir(dir)
  await writeFileAtomic(file, JSON.stringify(state) + '\n', 0o600)
}

function damaged(file: string, why: string, cause: unknown): MiradorError {
  return new MiradorError(
    'FEDERATION_ROUND',
    `${file} (this member's secrets of the round) cannot be read: ${why}. The round goes on without this member.`,
    { cause, details: { file } },
  )
}
