/** Small formatting helpers shared by the renderers. */

// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/

/**
 * Model output is untrusted text: escape control and bidi characters (keeping newlines and tabs)
 * so it cannot move the cursor, recolour the terminal or reorder what the user reads.
 */
export function safeText(s: string): string {
  return UNSAFE.test(s)
    ? s.replace(new RegExp(UNSAFE.source, 'g'), (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    : s
}

const unsafeValue = (v: unknown): boolean =>
  typeof v === 'string' ? UNSAFE.test(v) : Array.isArray(v) && v.some((x) => typeof x === 'string' && UNSAFE.test(x))

/**
 * An event with every top-level string, and every string in a top-level list, escaped with
 * `safeText`: what the terminal renderers draw. Nested values are escaped where they are drawn.
 * Most events (a token a model streams) need nothing: they are returned as they are, uncopied.
 */
export function safeEvent<E extends object>(e: E): E {
  if (!Object.values(e).some(unsafeValue)) return e
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(e))
    out[k] =
      typeof v === 'string'
        ? safeText(v)
        : Array.isArray(v)
          ? v.map((x) => (typeof x === 'string' ? safeText(x) : x))
          : v
  return out as E
}

export function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`
}

export function pct(x: number): string {
  return x.toFixed(2)
}

export interface Paint {
  dim(s: string): string
  bold(s: string): string
  green(s: string): string
  red(s: string): string
  yellow(s: string): string
  cyan(s: string): string
}

export function paint(enabled: boolean): Paint {
  const wrap = (open: number, close: number) => (s: string) => (enabled ? `\x1b[${open}m${s}\x1b[${close}m` : s)
  return {
    dim: wrap(2, 22),
    bold: wrap(1, 22),
    green: wrap(32, 39),
    red: wrap(31, 39),
    yellow: wrap(33, 39),
    cyan: wrap(36, 39),
  }
}

export function bytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let i = 0
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000
    i++
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`
}
