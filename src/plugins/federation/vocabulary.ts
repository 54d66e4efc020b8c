/**
 * The public vocabulary of a federation group: the query types and chain names its members agree
 * to count ratings for (the group file's `vocabulary`). It fixes the layout of every contributed
 * vector, so all members must read it from the same group file: for each query type (in the
 * file's order), for each chain (in the file's order), two numbers: positive ratings, then
 * negative ones (vector.ts). Nothing outside the vocabulary is ever counted or shared.
 */
import { MiradorError } from '../../engine/errors.js'

export interface Vocabulary {
  queryTypes: readonly string[]
  chains: readonly string[]
}

/** Numbers per (query type, chain): positive ratings, negative ratings. */
export const SLOTS_PER_PAIR = 2

/** A vocabulary checked for empty or repeated names (a repeat would make two slots mean one thing). */
export function makeVocabulary(queryTypes: readonly string[], chains: readonly string[]): Vocabulary {
  for (const [what, list] of [
    ['query type', queryTypes],
    ['chain', chains],
  ] as const) {
    if (list.length === 0)
      throw new MiradorError('FEDERATION_PARAMS', `the vocabulary names no ${what}; add at least one`)
    const seen = new Set<string>()
    for (const name of list) {
      if (name.length === 0) throw new MiradorError('FEDERATION_PARAMS', `the vocabulary has an empty ${what} name`)
      if (seen.has(name))
        throw new MiradorError('FEDERATION_PARAMS', `the vocabulary names the ${what} "${name}" twice; remove one`)
      seen.add(name)
    }
  }
  return { queryTypes: [...queryTypes], chains: [...chains] }
}

/** The length of a vector over this vocabulary. */
export function vectorLength(v: Vocabulary): number {
  return v.queryTypes.length * v.chains.length * SLOTS_PER_PAIR
}

/** Where the positive count of (type, chain) sits (the negative count is the next slot); -1 when outside. */
export function slotOf(v: Vocabulary, type: string, chain: string): number {
  const t = v.queryTypes.indexOf(type)
  const c = v.chains.indexOf(chain)
  if (t < 0 || c < 0) return -1
  return (t * v.chains.length + c) * SLOTS_PER_PAIR
}

/** A label per slot (`type/chain/positive`), for `contribute --dry-run` and reports. */
export function slotLabels(v: Vocabulary): string[] {
  return v.queryTypes.flatMap((t) => v.chains.flatMap((c) => [`${t}/${c}/positive`, `${t}/${c}/negative`]))
}
