/** What the user added to the index: a folder or a file, with the rules that choose a folder's files (scan.ts). */
import path from 'node:path'

/** files larger than this are left out unless the root says otherwise */
export const DEFAULT_MAX_BYTES = 2 * 1024 * 1024

export interface Root {
  /** absolute */
  path: string
  /** a folder, or one file */
  kind: 'dir' | 'file'
  include?: string[]
  exclude?: string[]
  maxBytes: number
}

/** `file` is `dir` or below it (both absolute) */
export function isWithin(file: string, dir: string): boolean {
  const rel = path.relative(dir, file)
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))
}
