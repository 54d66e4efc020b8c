/**
 * A Merkle tree over a round's bundle commitments (sha256 hex strings), so that each member can
 * prove its bundle was counted in a result, and that nothing else was.
 *
 *   - Leaves are the commitments sorted and without repeats (the tree of a set: any member who
 *     builds it gets the same root).
 *   - Domain separation: leaf = sha256(0x00 ‖ commitment bytes), node = sha256(0x01 ‖ left ‖ right),
 *     so a node can never pass for a leaf (second-preimage attacks on the tree's shape).
 *   - An odd node at the end of a level is promoted to the next level unchanged, never paired
 *     with itself: duplicating it would let two different leaf lists share a root (CVE-2012-2459).
 *   - The empty tree's root is sha256(0x02).
 *
 * An inclusion proof is the list of siblings from the leaf up, each saying on which side it sits.
 */
import { createHash } from 'node:crypto'
import { MiradorError } from '../../engine/errors.js'

export interface ProofStep {
  side: 'left' | 'right'
  /** hex */
  hash: string
}

const COMMITMENT = /^[0-9a-f]{64}$/

const sha256 = (...parts: Buffer[]): Buffer => createHash('sha256').update(Buffer.concat(parts)).digest()
const leafHash = (c: string) => sha256(Buffer.from([0]), Buffer.from(c, 'hex'))
const nodeHash = (l: Buffer, r: Buffer) => sha256(Buffer.from([1]), l, r)

/** The leaves' order: sorted, unique; refuses what is not a sha256 hex commitment. */
export function sortedLeaves(commitments: readonly string[]): string[] {
  for (const c of commitments)
    if (!COMMITMENT.test(c)) throw new MiradorError('FEDERATION_BUNDLE', `not a commitment (64 hex digits): ${c}`)
  return [...new Set(commitments)].sort()
}

function levels(leaves: readonly string[]): Buffer[][] {
  const out = [leaves.map(leafHash)]
  while (out.at(-1)!.length > 1) {
    const cur = out.at(-1)!
    const next: Buffer[] = []
    for (let i = 0; i < cur.length; i += 2) next.push(i + 1 < cur.length ? nodeHash(cur[i]!, cur[i + 1]!) : cur[i]!)
    out.push(next)
  }
  return out
}

/** The root (hex) of the tree over these commitments. */
export function merkleRoot(commitments: readonly string[]): string {
  const leaves = sortedLeaves(commitments)
  if (leaves.length === 0) return sha256(Buffer.from([2])).toString('hex')
  return levels(leaves).at(-1)![0]!.toString('hex')
}

/** The inclusion proof of `commitment` among `commitments`; FEDERATION_BUNDLE when it is not one of them. */
export function inclusionProof(commitments: readonly string[], commitment: string): ProofStep[] {
  const leaves = sortedLeaves(commitments)
  let i = leaves.indexOf(commitment)
  if (i < 0) throw new MiradorError('FEDERATION_BUNDLE', `the commitment ${commitment} is not among the round's`)
  const proof: ProofStep[] = []
  for (const level of levels(leaves).slice(0, -1)) {
    const sibling = i ^ 1
    if (sibling < level.length) proof.push({ side: i & 1 ? 'left' : 'right', hash: level[sibling]!.toString('hex') })
    i >>= 1
  }
  return proof
}

/** Whether `proof` leads from `commitment` to `root`. */
export function verifyInclusion(commitment: string, proof: readonly ProofStep[], root: string): boolean {
  if (!COMMITMENT.test(commitment) || !COMMITMENT.test(root)) return false
  let h = leafHash(commitment)
  for (const step of proof) {
    if (!COMMITMENT.test(step.hash)) return false
    const s = Buffer.from(step.hash, 'hex')
    h = step.side === 'left' ? nodeHash(s, h) : nodeHash(h, s)
  }
  return h.toString('hex') === root
}
