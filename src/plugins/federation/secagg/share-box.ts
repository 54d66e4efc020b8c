/**
 * The sealed envelope of a secret share: AES-256-GCM under a key derived from the sender's and the
 * recipient's long-term X25519 keys, with the group, round and both ids as additional data, so a
 * share cannot be altered, replayed into another round or handed to another member unnoticed.
 */
import { createCipheriv, createDecipheriv, randomBytes, type KeyObject } from 'node:crypto'
import { MiradorError } from '../../../engine/errors.js'
import { shareKey } from './derive.js'
import { agree } from './keys.js'
import type { EncryptedShare } from './types.js'
import { b64, unb64 } from './wire.js'

export interface ShareContext {
  group: string
  round: string
  salt: Buffer
}

const aad = (ctx: ShareContext, from: string, to: string): Buffer =>
  Buffer.from(JSON.stringify(['mirador-secagg-v1 share', ctx.group, ctx.round, from, to]))

export function sealShare(
  ctx: ShareContext,
  from: string,
  myPrivate: KeyObject,
  to: { id: string; publicKey: string },
  plaintext: Buffer,
): EncryptedShare {
  const key = shareKey(agree(myPrivate, to.publicKey, `the public key of ${to.id}`), ctx.salt, from, to.id)
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(aad(ctx, from, to.id))
  const data = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return { from, to: to.id, iv: b64(iv), tag: b64(cipher.getAuthTag()), data: b64(data) }
}

export function openShare(
  ctx: ShareContext,
  box: EncryptedShare,
  me: string,
  myPrivate: KeyObject,
  senderPublicKey: string,
): Buffer {
  const what = `the share ${box.from} sent to ${me}`
  const key = shareKey(agree(myPrivate, senderPublicKey, `the public key of ${box.from}`), ctx.salt, box.from, me)
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, unb64(box.iv, `${what} (iv)`, 12))
    decipher.setAAD(aad(ctx, box.from, me)).setAuthTag(unb64(box.tag, `${what} (tag)`, 16))
    return Buffer.concat([decipher.update(unb64(box.data, what)), decipher.final()])
  } catch (err) {
    if (MiradorError.is(err)) throw err
    throw new MiradorError(
      'FEDERATION_SHARE',
      `${what} fails authentication (altered, for another round or member, or not sealed by ${box.from}): ` +
        'this member cannot reveal it; ask the group to redo the round',
      { cause: err, details: { from: box.from, to: me } },
    )
  }
}
