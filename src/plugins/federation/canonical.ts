/**
 * Canonical JSON: the one byte string a value signs and hashes as, whoever wrote it. Object keys
 * sorted (by UTF-16 code units, as Array.prototype.sort does), no whitespace, numbers as
 * JSON.stringify writes them (the shortest text that reads back as the same double, the same in
 * every JavaScript engine). Non-finite numbers, undefined and other non-JSON values are refused
 * rather than silently turned into null.
 */
import { MiradorError } from '../../engine/errors.js'

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new MiradorError('FEDERATION_BUNDLE', `a bundle cannot hold the number ${value}`)
    return JSON.stringify(value)
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const o = value as Record<string, unknown>
    const keys = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`
  }
  throw new MiradorError('FEDERATION_BUNDLE', `a bundle cannot hold a ${typeof value}`)
}
