/**
 * In-process federation members for round tests and the round benchmark: each with its own temp
 * $MIRADOR_HOME and keys, one group file listing them all, one folder exchange.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Accountant } from '../../src/plugins/federation/accountant.js'
import { createExchange } from '../../src/plugins/federation/exchange/index.js'
import { loadGroupFile, type Group } from '../../src/plugins/federation/group.js'
import { loadOrCreateMemberKeys, type MemberKeys } from '../../src/plugins/federation/member-keys.js'
import type { RoundContext } from '../../src/plugins/federation/round/index.js'
import type { LearnerRecord } from '../../src/plugins/federation/vector.js'

export const QUERY_TYPES = ['code', 'general', 'planning', 'writing', 'math']
export const CHAINS = ['quick-deep', 'solo', 'planner', 'critic']

export interface SimMember {
  id: string
  home: string
  keys: MemberKeys
  ctx: RoundContext
  accountant: Accountant
}

export interface SimGroup {
  root: string
  exchangeDir: string
  groupFile: string
  group: Group
  members: SimMember[]
  cleanup(): Promise<void>
}

export const memberId = (i: number): string => `m${String(i + 1).padStart(2, '0')}`

export async function makeGroup(
  n: number,
  options: { threshold?: number; privacy?: string; now?: () => Date } = {},
): Promise<SimGroup> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'mirador-fedround-'))
  const exchangeDir = path.join(root, 'exchange')
  await mkdir(exchangeDir)
  const homes = Array.from({ length: n }, (_, i) => path.join(root, 'homes', memberId(i)))
  const keys = await Promise.all(homes.map((h) => loadOrCreateMemberKeys(h)))
  const groupFile = path.join(root, 'group.yaml')
  await writeFile(
    groupFile,
    [
      'group: garden-club',
      `exchange: ${exchangeDir}`,
      'vocabulary:',
      `  queryTypes: [${QUERY_TYPES.join(', ')}]`,
      `  chains: [${CHAINS.join(', ')}]`,
      'privacy:',
      options.privacy ?? '  mechanism: laplace\n  epsilon: 1\n  clip: 10\n  period_days: 30\n  budget: 4',
      `threshold: ${options.threshold ?? 2}`,
      'members:',
      ...keys.flatMap((k, i) => [
        `  - id: ${memberId(i)}`,
        `    signing_key: ${k.signing.public}`,
        `    agreement_key: ${k.agreement.public}`,
      ]),
      '',
    ].join('\n'),
  )
  const group = await loadGroupFile(groupFile)
  const members = keys.map((k, i): SimMember => {
    const id = memberId(i)
    const home = homes[i]!
    const exchange = createExchange(exchangeDir, { home, member: id })
    return {
      id,
      home,
      keys: k,
      ctx: { home, group, member: id, keys: k, exchange, ...(options.now ? { now: options.now } : {}) },
      accountant: new Accountant({ home, policy: group.policy }),
    }
  })
  return { root, exchangeDir, groupFile, group, members, cleanup: () => rm(root, { recursive: true, force: true }) }
}

/** A member's learner journal lines: `good` ratings of 5 and `bad` of 2 for (type, chain). */
export function ratings(entries: readonly [type: string, chain: string, good: number, bad: number][]): LearnerRecord[] {
  let at = 0
  return entries.flatMap(([type, chain, good, bad]) =>
    Array.from({ length: good + bad }, (_, i) => ({
      kind: 'rating',
      runId: `r_${type}_${chain}_${i}`,
      chain,
      type,
      rating: i < good ? 5 : 2,
      at: ++at,
    })),
  )
}
