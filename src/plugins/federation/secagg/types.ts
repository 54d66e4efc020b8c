/** The messages of a round: plain JSON objects (binary values in base64), since rounds are files. */

/** A member as the group file lists it: its id and long-term X25519 public key. */
export interface Peer {
  id: string
  publicKey: string
}

/** A share of one member's secrets, encrypted (AES-256-GCM) to one other member. */
export interface EncryptedShare {
  from: string
  to: string
  iv: string
  tag: string
  data: string
}

/**
 * Phase 1, published by each member: its round mask public key, a commitment to its self-mask seed
 * and its secrets' shares, one encrypted to each other member.
 */
export interface Commit {
  v: 1
  group: string
  round: string
  member: string
  threshold: number
  maskPublicKey: string
  selfCommitment: string
  shares: Record<string, EncryptedShare>
}

/** One member's share of another's two secrets, as it travels inside an EncryptedShare. */
export interface SharePlain {
  x: number
  self: string
  mask: string
}

/** A member's private state for one round. Secret: never leaves the member's machine. */
export interface MemberState {
  v: 1
  group: string
  round: string
  me: string
  threshold: number
  scale: number
  /** every group member's id → the x of its shares and its long-term public key */
  members: Record<string, { x: number; publicKey: string }>
  maskPrivateKey: string
  maskPublicKey: string
  selfSecret: string
  /** this member's own share of its secrets: kept, never sent */
  ownShare: SharePlain
  /** the members whose commits this member masked against (set by maskVector) */
  committed?: string[]
  /** which secret this member revealed of whom: never both for one member */
  revealed: Record<string, 'self' | 'mask'>
}

/** Phase 2: a member's masked vector. */
export interface MaskedVector {
  v: 1
  group: string
  round: string
  member: string
  scale: number
  /** the committed members it was masked against, sorted */
  committed: string[]
  values: string
}

export interface RevealedShare {
  of: string
  kind: 'self' | 'mask'
  x: number
  y: string
}

/** Phase 3: a survivor's shares, self-mask shares of survivors and mask-key shares of dropped members. */
export interface Reveal {
  v: 1
  group: string
  round: string
  member: string
  survivors: string[]
  dropped: string[]
  shares: RevealedShare[]
}

export interface AggregateResult {
  sum: number[]
  survivors: string[]
  dropped: string[]
  scale: number
}
