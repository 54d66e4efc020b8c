/**
 * The group file: a YAML (or JSON) file every member of a federation group holds the same copy of
 * (schemas/federation-group.schema.json). Loaded and validated like Mirador's other YAML files
 * (engine/config: safe parsing, ajv, errors at file:line:column), then checked for what a schema
 * cannot say: member ids and keys unique, keys that are really Ed25519 / X25519 public keys,
 * privacy parameters within dp.ts's limits and a budget that allows at least one contribution.
 * Every such error is CONFIG_INVALID at the offending value.
 */
import {
  loadConfigFile,
  loadConfigText,
  locate,
  type FederationGroupFile,
  type Loaded,
  type PathSegment,
} from '../../engine/config/index.js'
import { MiradorError } from '../../engine/errors.js'
import type { BudgetPolicy } from './accountant.js'
import { privacyParams, type Noise, type PrivacyParams } from './dp.js'
import { publicKeyFrom } from './keys.js'
import { makeVocabulary, type Vocabulary } from './vocabulary.js'

export interface Group {
  file: string
  /** the file as written (its members are the Roster bundles are checked against) */
  value: FederationGroupFile
  group: string
  vocabulary: Vocabulary
  /** the group's noise, whole (shares 1); a round splits it when `noise` is distributed (dp.ts roundParams) */
  params: PrivacyParams
  /** distributed (default): each of a round's t contributions adds 1/t of the noise; local: each all of it */
  noise: Noise
  policy: BudgetPolicy
}

function invalid(loaded: Loaded<FederationGroupFile>, at: PathSegment[], message: string): MiradorError {
  return new MiradorError('CONFIG_INVALID', message, { location: locate(loaded, at), details: { path: at } })
}

function check(loaded: Loaded<FederationGroupFile>): Group {
  const g = loaded.value
  const ids = new Map<string, number>()
  const keys = new Map<string, number>()
  g.members.forEach((m, i) => {
    const first = ids.get(m.id)
    if (first !== undefined)
      throw invalid(loaded, ['members', i, 'id'], `the member id ${m.id} is listed twice (also member ${first + 1})`)
    ids.set(m.id, i)
    for (const [field, kind] of [
      ['signing_key', 'ed25519'],
      ['agreement_key', 'x25519'],
    ] as const) {
      try {
        publicKeyFrom(m[field], kind)
      } catch (err) {
        throw invalid(loaded, ['members', i, field], `${m.id}'s ${field}: ${MiradorError.from(err).message}`)
      }
      const other = keys.get(m[field])
      if (other !== undefined)
        throw invalid(loaded, ['members', i, field], `${m.id} has the same key as ${g.members[other]!.id}`)
      keys.set(m[field], i)
    }
  })
  // threshold is a minimum, not a count of members: a group of one (just after `federation init`) is valid;
  // a round's t is max(threshold, floor(n/2)+1) of the n members listed when it opens (docs/federation.md)
  let params: PrivacyParams
  try {
    const p = g.privacy
    params = privacyParams({
      mechanism: p.mechanism,
      epsilon: p.epsilon,
      clip: p.clip,
      ...(p.delta !== undefined ? { delta: p.delta } : {}),
    })
  } catch (err) {
    throw invalid(
      loaded,
      ['privacy', g.privacy.delta !== undefined ? 'delta' : 'mechanism'],
      MiradorError.from(err).message,
    )
  }
  if (g.privacy.budget < g.privacy.epsilon)
    throw invalid(
      loaded,
      ['privacy', 'budget'],
      `the budget (ε ${g.privacy.budget} per ${g.privacy.period_days} days) ` +
        `is less than one contribution's ε ${g.privacy.epsilon}`,
    )
  return {
    file: loaded.file,
    value: g,
    group: g.group,
    vocabulary: makeVocabulary(g.vocabulary.queryTypes, g.vocabulary.chains),
    params,
    noise: g.privacy.noise ?? 'distributed',
    policy: { budget: g.privacy.budget, periodDays: g.privacy.period_days },
  }
}

/** Reads and checks a group file; the first problem is thrown (CONFIG_* at file:line:column). */
export async function loadGroupFile(file: string): Promise<Group> {
  return check(await loadConfigFile<FederationGroupFile>(file, 'federation-group'))
}

/** As loadGroupFile, from text already read (`file` names it in errors). */
export function loadGroupText(text: string, file: string): Group {
  return check(loadConfigText<FederationGroupFile>(text, file, 'federation-group'))
}
