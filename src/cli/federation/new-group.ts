/**
 * The group file `federation init` writes: the shipped chains and the learner's query types as the
 * default vocabulary, dp.ts's privacy defaults, and the founder as its first member. Checked with
 * loadGroupText before it is written, like every later change to it.
 */
import path from 'node:path'
import { Document, isSeq } from 'yaml'
import { loadConfigFile, type MiradorConfig } from '../../engine/config/index.js'
import { DEFAULT_TYPE } from '../../plugins/learner/classify.js'
import { PRIVACY_DEFAULTS } from '../../plugins/federation/dp.js'
import { loadGroupText } from '../../plugins/federation/group.js'
import type { MemberEntry } from '../../plugins/federation/membership.js'
import { listChains } from '../chain-files.js'
import { configFiles, PACKAGE_ROOT } from '../paths.js'

/** The chains shipped with Mirador: names every member has, so counts over them mean the same everywhere. */
export function shippedChainNames(): string[] {
  return [...new Set(listChains([path.join(PACKAGE_ROOT, 'chains')]).map((c) => c.name))].sort()
}

/**
 * The query types this Mirador's learner can give a question: `general`, then the types of its
 * keyword rules (`builtins: { learner: { rules } }` in the project's and the user's config).
 */
export async function learnerQueryTypes(cwd: string, home: string, config?: string): Promise<string[]> {
  const types = new Set([DEFAULT_TYPE])
  for (const file of configFiles(cwd, home, config)) {
    const learner = (await loadConfigFile<MiradorConfig>(file, 'config')).value.builtins?.learner
    if (learner && typeof learner === 'object' && learner.rules)
      for (const t of Object.keys(learner.rules)) types.add(t)
  }
  return [...types]
}

export interface NewGroup {
  group: string
  /** as written into the file: `.` or a folder below the file's own, an absolute folder, or a URL */
  exchange: string
  queryTypes: string[]
  chains: string[]
  epsilon: number
  threshold: number
  founder: MemberEntry
}

/** The text of a new group file (`file` names it in errors); CONFIG_INVALID if the choices make no valid group. */
export function newGroupText(g: NewGroup, file: string): string {
  const doc = new Document({
    group: g.group,
    exchange: g.exchange,
    vocabulary: { queryTypes: g.queryTypes, chains: g.chains },
    privacy: {
      mechanism: PRIVACY_DEFAULTS.mechanism,
      epsilon: g.epsilon,
      clip: PRIVACY_DEFAULTS.clip,
      // written out so the group sees the choice (docs/federation.md, "Differential privacy and the budget")
      noise: 'distributed',
      period_days: PRIVACY_DEFAULTS.periodDays,
      // a budget below one contribution would refuse every round
      budget: Math.max(PRIVACY_DEFAULTS.budget, g.epsilon),
    },
    threshold: g.threshold,
    members: [g.founder],
  })
  // No `$schema=` line: the file is shared, and the installed schema's absolute path would carry
  // the founder's home (often their user name) to every member.
  doc.commentBefore =
    ' A Mirador federation group (docs/federation.md, "Joining a group").\n' +
    ' Others join with: mirador federation join THIS_FILE (it adds their entry under members).\n' +
    ' For completion in an editor, add: # yaml-language-server: $schema=<the folder `mirador schemas path`\n' +
    ' prints>/federation-group.schema.json'
  for (const key of ['queryTypes', 'chains']) {
    const seq = doc.getIn(['vocabulary', key], true)
    if (isSeq(seq)) seq.flow = true
  }
  const text = doc.toString({ flowCollectionPadding: false })
  loadGroupText(text, file)
  return text
}
