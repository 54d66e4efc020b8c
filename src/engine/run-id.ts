import { randomBytes } from 'node:crypto'

/** `r_` + time (base 36) + 6 hex digits: sortable by start time, unique enough for one user. */
export function newRunId(): string {
  return `r_${Date.now().toString(36)}${randomBytes(3).toString('hex')}`
}
