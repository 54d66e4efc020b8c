/**
 * A round's result: what whoever aggregated found, signed, so each member can check it and prove
 * its own bundle was counted.
 *
 *     { v: 1, group, round, aggregator, created, commitments, root, total, signature }
 *
 * `commitments` are the commitments of the bundles summed, sorted, each once; `root` is their
 * Merkle root (merkle.ts); `total` is opaque here (the opened sum from secure aggregation). The
 * signature is Ed25519 over the canonical JSON of every other field by the aggregator, a member of
 * the group file. Aggregation is deterministic, so every member who aggregates signs the same
 * fields apart from `aggregator`, `created` and the signature.
 */
import type { KeyObject } from 'node:crypto'
import { MiradorError } from '../../engine/errors.js'
import { canonicalJson, type JsonValue } from './canonical.js'
import type { Roster } from './bundle.js'
import { signEd25519, verifiesEd25519 } from './keys.js'
import { inclusionProof, merkleRoot, sortedLeaves, verifyInclusion, type ProofStep } from './merkle.js'

export interface RoundResult {
  v: 1
  group: string
  round: string
  aggregator: string
  created: string
  commitments: string[]
  root: string
  total: JsonValue
  signature: string
}

export interface ResultInput {
  group: string
  round: string
  aggregator: string
  commitments: readonly string[]
  total: JsonValue
  created?: Date
}

const bytes = (r: Omit<RoundResult, 'signature'>) => Buffer.from(canonicalJson(r), 'utf8')

export function makeResult(input: ResultInput, signingKey: KeyObject): RoundResult {
  const commitments = sortedLeaves(input.commitments)
  const unsigned = {
    v: 1 as const,
    group: input.group,
    round: input.round,
    aggregator: input.aggregator,
    created: (input.created ?? new Date()).toISOString(),
    commitments,
    root: merkleRoot(commitments),
    total: input.total,
  }
  return { ...unsigned, signature: signEd25519(bytes(unsigned), signingKey) }
}

/** Throws FEDERATION_BUNDLE saying what is wrong with a result; returns it checked. */
export function verifyResult(result: RoundResult, roster: Roster, round: string): RoundResult {
  const fail = (why: string) =>
    new MiradorError('FEDERATION_BUNDLE', `the result of ${roster.group} round ${round} is rejected: ${why}`, {
      details: { reason: 'result' },
    })
  if (!result || result.v !== 1 || !Array.isArray(result.commitments)) throw fail('it is not a round result')
  if (result.group !== roster.group || result.round !== round)
    throw fail(`it is for ${result.group} round ${result.round}`)
  const member = roster.members.find((m) => m.id === result.aggregator)
  if (!member) throw fail(`its aggregator ${result.aggregator} is not in the group file`)
  const { signature, ...rest } = result
  if (!verifiesEd25519(bytes(rest), signature, member.signing_key))
    throw fail(`it does not verify with ${result.aggregator}'s key (changed after signing?)`)
  const sorted = sortedLeaves(result.commitments)
  if (canonicalJson(sorted) !== canonicalJson(result.commitments))
    throw fail('its commitments are not sorted and unique (a bundle counted twice?)')
  if (merkleRoot(sorted) !== result.root) throw fail('its Merkle root does not match its commitments')
  return result
}

/** A member's proof that its bundle was counted in `result`. */
export function proofOf(result: RoundResult, commitment: string): ProofStep[] {
  return inclusionProof(result.commitments, commitment)
}

/** Whether `commitment` was counted in `result` (by its proof against the signed root). */
export function wasCounted(result: RoundResult, commitment: string, proof: readonly ProofStep[]): boolean {
  return verifyInclusion(commitment, proof, result.root)
}
