/** What a round's files hold (inside their signed envelopes) and what reading a round gives back. */
import type { RejectReason } from '../bundle.js'
import type { PrivacyParams } from '../dp.js'
import type { RoundResult } from '../result.js'
import type { Commit, MaskedVector, Reveal } from '../secagg/index.js'
import type { Bundle } from '../bundle.js'
import type { Envelope } from './envelope.js'

/** A member as the round's opener saw it in the group file: its id and key fingerprints. */
export interface RosterEntry {
  id: string
  /** sha256 (hex, first 16 digits) of the raw Ed25519 signing key */
  signing: string
  /** the same of the raw X25519 agreement key */
  agreement: string
}

/** open.json: the round's fixed terms. */
export interface OpenBody {
  roster: RosterEntry[]
  /** shares secure aggregation needs: max(group threshold, floor(n/2) + 1) */
  t: number
  /** the round's noise per contribution (shares = t with distributed noise) */
  params: PrivacyParams
  /** fixed-point scale of secure aggregation */
  scale: number
  vocabulary: { queryTypes: string[]; chains: string[] }
  /** ISO times after which any member may close the phase with whoever is there */
  commit_until: string
  mask_until: string
  /** after this, a round that still cannot open fails */
  reveal_until: string
}

export interface CommitsBody {
  committed: string[]
}

export interface SurvivorsBody {
  survivors: string[]
  dropped: string[]
}

export interface FailedBody {
  phase: 'commit' | 'mask' | 'reveal'
  reason: string
}

/** A file of the exchange that does not count, and why. */
export interface Problem {
  /** the exchange path */
  file: string
  reason: RejectReason | 'unreadable' | 'inconsistent' | 'wrong-total'
  message: string
}

/** A round as read from the exchange: only files that verified, and the problems of the others. */
export interface RoundView {
  round: string
  open?: Envelope<OpenBody>
  commits: Map<string, Envelope<Commit>>
  closedCommits?: Envelope<CommitsBody>
  bundles: Map<string, { bundle: Bundle & { payload: MaskedVector }; commitment: string }>
  closedMask?: Envelope<SurvivorsBody>
  reveals: Map<string, Envelope<Reveal>>
  result?: RoundResult
  failed?: Envelope<FailedBody>
  problems: Problem[]
}

export const isFinished = (v: RoundView): boolean => v.result !== undefined || v.failed !== undefined
