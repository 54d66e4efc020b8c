/** Secure aggregation (pairwise and self masks, Shamir-shared for dropouts): the public API. */
export { newMemberKeys, type KeyPair } from './keys.js'
export { shareSecrets, maskVector, revealShares, type ShareSecretsInput, type RevealInput } from './member.js'
export { aggregate, type AggregateInput } from './aggregate.js'
export { DEFAULT_SCALE, MODULUS_BITS, encodeVector, decodeVector, maxMagnitude } from './fixed-point.js'
export type * from './types.js'
