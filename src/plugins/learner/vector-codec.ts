/**
 * A query's embedding as the journal writes it: one signed byte per dimension (scaled so the
 * largest component is ±127) in base64, and the scale. A 512-dimension vector takes 684 characters
 * instead of about 10,000 as JSON numbers; the centroid step only compares directions, and the
 * rounding moves a cosine similarity by about 0.01 at most.
 */
import { l2normalize } from '../../lib/embedder.js'
import type { StoredVector } from './types.js'

/** On disk: `{ e: embedder id, q: base64 of int8 components, s: the largest |component| }` */
export interface PackedVector {
  e: string
  q: string
  s: number
}

export function packVector(v: StoredVector): PackedVector {
  const scale = Math.max(0, ...v.values.map(Math.abs))
  const q = new Int8Array(v.values.length)
  if (scale > 0) v.values.forEach((x, i) => (q[i] = Math.round((x / scale) * 127)))
  return { e: v.embedder, q: Buffer.from(q.buffer).toString('base64'), s: scale }
}

/** The vector `p` stands for, unit length; undefined when `p` is not a packed vector. */
export function unpackVector(p: unknown): StoredVector | undefined {
  const v = p as Partial<PackedVector> | null
  if (!v || typeof v.e !== 'string' || typeof v.q !== 'string' || typeof v.s !== 'number') return undefined
  const bytes = Buffer.from(v.q, 'base64')
  const q = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length)
  if (q.length === 0) return undefined
  return { embedder: v.e, values: l2normalize(Array.from(q, (x) => (x / 127) * v.s!)) }
}
