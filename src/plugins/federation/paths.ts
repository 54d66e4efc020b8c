/**
 * Where federation keeps its local state, in one place so that `federation leave`, `memory forget
 * --all` and every command agree (docs/federation.md, "Local state"). Nothing here is ever sent.
 */
import { rm, stat } from 'node:fs/promises'
import path from 'node:path'

/** `$MIRADOR_HOME/federation/`: everything federation keeps but the keys. */
export const federationDir = (home: string): string => path.join(home, 'federation')

export const federationPaths = (home: string) => {
  const dir = federationDir(home)
  return {
    dir,
    /** which group this home belongs to: `{ v, groupFile, member, joined }` */
    membership: path.join(dir, 'membership.json'),
    /** the privacy accountant's ledger (accountant.ts) */
    budget: path.join(dir, 'budget.json'),
    /** the latest opened round's total, as the learner's community prior (prior.ts) */
    prior: path.join(dir, 'prior.json'),
    /** a member's private per-round secrets: `rounds/<group>/<round>/state.json` (0600) */
    rounds: path.join(dir, 'rounds'),
    /** git exchanges' clones (exchange/git.ts) */
    exchanges: path.join(dir, 'exchanges'),
    /** the member's Ed25519 and X25519 key files (member-keys.ts) */
    keys: path.join(home, 'keys', 'federation'),
  }
}

/**
 * Removes every piece of federation state this home keeps (`federation leave`, `memory forget --all`):
 * membership, budget ledger, prior, round secrets, exchange clones and the member keys. Returns
 * whether there was anything to remove. The exchange and the group file are shared and left alone.
 */
export async function removeLocalState(home: string): Promise<boolean> {
  const p = federationPaths(home)
  const existed = await Promise.all(
    [p.dir, p.keys].map((d) =>
      stat(d).then(
        () => true,
        () => false,
      ),
    ),
  )
  await rm(p.dir, { recursive: true, force: true })
  await rm(p.keys, { recursive: true, force: true })
  return existed.some(Boolean)
}
