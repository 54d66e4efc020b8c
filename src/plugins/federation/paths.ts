/**
 * Where federation keeps its local state, in one place so that `federation leave`, `memory forget
 * --all` and every command agree (docs/federation.md, "Local state"). Nothing here is ever sent.
 */
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
