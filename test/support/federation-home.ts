/**
 * A member home for tests of the community prior: a group file (fresh keys), membership.json
 * pointing at it and, when asked, a hand-written prior.json in the format of docs/federation.md.
 */
import { generateKeyPairSync } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { rawPublicKey } from '../../src/plugins/federation/keys.js'
import { federationPaths } from '../../src/plugins/federation/paths.js'

export interface Vocab {
  queryTypes: string[]
  chains: string[]
}

const pub = (t: 'ed25519' | 'x25519') =>
  rawPublicKey(t === 'ed25519' ? generateKeyPairSync('ed25519').publicKey : generateKeyPairSync('x25519').publicKey)

/** A valid group file of two members over `vocabulary`, written to `file`. */
export async function writeGroupFile(file: string, vocabulary: Vocab, group = 'garden-club'): Promise<void> {
  const members = ['alice', 'bob']
    .map((id) => `  - id: ${id}\n    signing_key: ${pub('ed25519')}\n    agreement_key: ${pub('x25519')}`)
    .join('\n')
  await writeFile(
    file,
    [
      `group: ${group}`,
      'exchange: /srv/sync/garden-club',
      'vocabulary:',
      `  queryTypes: [${vocabulary.queryTypes.join(', ')}]`,
      `  chains: [${vocabulary.chains.join(', ')}]`,
      'privacy: { mechanism: laplace, epsilon: 1, clip: 10, period_days: 30, budget: 4 }',
      'threshold: 2',
      'members:',
      members,
      '',
    ].join('\n'),
  )
}

/** Makes `home` a member of a group over `vocabulary` (group file beside the home). */
export async function joinHome(home: string, vocabulary: Vocab, group = 'garden-club'): Promise<string> {
  const p = federationPaths(home)
  await mkdir(p.dir, { recursive: true })
  const groupFile = path.join(path.dirname(home), `${path.basename(home)}-group.yaml`)
  await writeGroupFile(groupFile, vocabulary, group)
  await writeFile(p.membership, JSON.stringify({ v: 1, groupFile, member: 'alice', joined: new Date().toISOString() }))
  return groupFile
}

/**
 * prior.json with `counts[type][chain] = [positive, negative]` (0 for the pairs not given) in the
 * vocabulary's order.
 */
export async function writePrior(
  home: string,
  vocabulary: Vocab,
  counts: Record<string, Record<string, [number, number]>>,
  options: { sd?: number; round?: string; group?: string } = {},
): Promise<void> {
  const totals = vocabulary.queryTypes.flatMap((t) => vocabulary.chains.flatMap((c) => counts[t]?.[c] ?? [0, 0]))
  await mkdir(federationPaths(home).dir, { recursive: true })
  await writeFile(
    federationPaths(home).prior,
    JSON.stringify({
      v: 1,
      group: options.group ?? 'garden-club',
      round: options.round ?? '0003',
      opened: new Date().toISOString(),
      members: 10,
      vocabulary,
      totals,
      noise: { mechanism: 'laplace', epsilon: 1, sd: options.sd ?? 14.1 },
    }),
  )
}
