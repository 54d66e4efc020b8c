/**
 * Checks on a YAML file's bytes and text, before any YAML parsing: the size limit, UTF-8 decoding
 * and control characters (binary data). Kept apart from yaml-safe.ts because load.ts decodes
 * file bytes before it has any text to parse.
 */
import { MiradorError } from '../errors.js'
import { LIMITS } from './limits.js'
import type { SourceLocation } from './types.js'
import { err, tooLarge } from './yaml-errors.js'

// eslint-disable-next-line no-control-regex -- finding control characters (binary data) is this regex's purpose
const CONTROL_CHAR = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x84\x86-\x9F\uFFFE\uFFFF]|\p{Cs}/u

/** line/column of a character offset without a LineCounter (used before parsing). */
function scanLocation(file: string, text: string, offset: number): SourceLocation {
  let line = 1
  let lineStart = 0
  for (let i = 0; i < offset; i++) {
    if (text.charCodeAt(i) === 10) {
      line++
      lineStart = i + 1
    }
  }
  return { file, line, column: offset - lineStart + 1 }
}

/** Offset of the first byte that is not valid UTF-8, or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0
  while (i < b.length) {
    const c = b[i]!
    if (c < 0x80) {
      i++
      continue
    }
    let n: number
    let lo = 0x80
    let hi = 0xbf
    if (c >= 0xc2 && c <= 0xdf) n = 1
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2
      if (c === 0xe0) lo = 0xa0 // overlong
      if (c === 0xed) hi = 0x9f // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3
      if (c === 0xf0) lo = 0x90
      if (c === 0xf4) hi = 0x8f
    } else return i
    if (i + n >= b.length) return i // truncated sequence
    const second = b[i + 1]!
    if (second < lo || second > hi) return i
    for (let k = 2; k <= n; k++) if ((b[i + k]! & 0xc0) !== 0x80) return i
    i += n + 1
  }
  return -1
}

/** Decodes file bytes as UTF-8 (a leading BOM is dropped), refusing anything else. */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch (cause) {
    const offset = Math.max(0, firstInvalidUtf8(bytes))
    const before = new TextDecoder('utf-8').decode(bytes.subarray(0, offset))
    const byte = (bytes[offset] ?? 0).toString(16).padStart(2, '0')
    throw new MiradorError(
      'CONFIG_SYNTAX',
      `is not UTF-8 text (byte 0x${byte} cannot be decoded). Save the file as UTF-8.`,
      { cause, location: scanLocation(file, before, before.length), details: { byteOffset: offset } },
    )
  }
}

/** The first problem with the text itself (too large, or a control character), if any. */
export function checkText(text: string, file: string): MiradorError | undefined {
  const bytes = Buffer.byteLength(text, 'utf8')
  if (bytes > LIMITS.maxBytes) return tooLarge(file, bytes)
  const bad = CONTROL_CHAR.exec(text)
  if (bad) {
    const cp = bad[0].codePointAt(0) ?? 0
    const codePoint = cp.toString(16).toUpperCase().padStart(4, '0')
    return err(
      'CONFIG_SYNTAX',
      `contains the control character U+${codePoint}: this does not look like a YAML text file. ` +
        'Save it as plain UTF-8 text.',
      scanLocation(file, text, bad.index),
      { codePoint: cp },
    )
  }
  return undefined
}
