/**
 * Who this member last contributed alongside: the group file is the trust root (whoever can write it
 * can add members), and with distributed noise a sum whose other members are all fake would expose
 * one honest member's vector with only 1/t of the noise. So a contribution says which members joined,
 * changed keys or left since this member's last one, and `status` shows the same (docs/federation.md,
 * "What rounds add to the threat model"). Kept in `federation/roster-seen.json` (ids and key
 * fingerprints only), written after each real contribution.
 */
import { writeFileAtomic } from '../../lib/atomic-write.js'
import { ensurePrivateDir } from '../../lib/crypto.js'
import { readTextIfExists } from '../../lib/read-if-exists.js'
import type { Group } from './group.js'
import { federationPaths } from './paths.js'
import { rosterOf } from './round/params.js'

export interface RosterChanges {
  /** no contribution yet: everything is new, nothing to compare */
  first: boolean
  added: string[]
  /** listed before under the same id with other keys */
  rekeyed: string[]
  removed: string[]
}

type Seen = Record<string, string>

const keysOf = (group: Group): Seen =>
  Object.fromEntries(rosterOf(group).map((m) => [m.id, `${m.signing}:${m.agreement}`]))

async function readSeen(home: string): Promise<Seen | undefined> {
  const text = await readTextIfExists(federationPaths(home).rosterSeen)
  if (text === undefined) return undefined
  try {
    const v = JSON.parse(text) as { v?: number; members?: unknown }
    if (v.v === 1 && v.members && typeof v.members === 'object') return v.members as Seen
  } catch {
    // a damaged file is as good as none: the next contribution rewrites it
  }
  return undefined
}

/** How the group file's members differ from those of this member's last contribution. */
export async function rosterChanges(home: string, group: Group): Promise<RosterChanges> {
  const seen = await readSeen(home)
  const now = keysOf(group)
  if (!seen) return { first: true, added: [], rekeyed: [], removed: [] }
  return {
    first: false,
    added: Object.keys(now).filter((id) => !(id in seen)),
    rekeyed: Object.keys(now).filter((id) => id in seen && seen[id] !== now[id]),
    removed: Object.keys(seen).filter((id) => !(id in now)),
  }
}

/** Remembers the group file's members as those of this contribution. */
export async function rememberRoster(home: string, group: Group): Promise<void> {
  const file = federationPaths(home).rosterSeen
  await ensurePrivateDir(federationPaths(home).dir)
  await writeFileAtomic(file, JSON.stringify({ v: 1, members: keysOf(group) }, null, 2) + '\n', 0o600)
}

/** The notice a contribution prints, one line, or undefined when nothing changed. */
export function rosterNotice(c: RosterChanges): string | undefined {
  const parts = [
    c.added.length ? `${c.added.length} joined (${c.added.join(', ')})` : '',
    c.rekeyed.length ? `${c.rekeyed.length} changed keys (${c.rekeyed.join(', ')})` : '',
    c.removed.length ? `${c.removed.length} left (${c.removed.join(', ')})` : '',
  ].filter(Boolean)
  if (parts.length === 0) return undefined
  return (
    `! since your last contribution, members of the group file changed: ${parts.join('; ')}. ` +
    'If you do not know them, ask your group before contributing (the group file decides who is in a round).'
  )
}
