/**
 * Which conversation a request continues and whether it may use memory, as `chain run --session NAME`
 * and `--no-memory` say it on the command line: `X-Mirador-Session: NAME` (else the body's `user`
 * field) and `X-Mirador-Memory: off`. The server's own memory setting (MIRADOR_MEMORY=off, config)
 * wins: a request can turn memory off, never on.
 */
import type { IncomingHttpHeaders } from 'node:http'
import { MiradorError } from '../engine/errors.js'
import { validateSessionName } from '../plugins/memory/sessions.js'

export const SESSION_HEADER = 'x-mirador-session'
export const MEMORY_HEADER = 'x-mirador-memory'

export type RequestMemory =
  | { ok: true; session?: string; memory: boolean }
  | { ok: false; message: string; param: string }

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name]
  return Array.isArray(v) ? v[0] : v
}

function memoryWanted(value: string | undefined): boolean | undefined {
  if (value === undefined || /^(on|true|yes|1)$/i.test(value.trim())) return true
  if (/^(off|false|no|0)$/i.test(value.trim())) return false
  return undefined
}

export function requestMemory(headers: IncomingHttpHeaders, user: string | undefined): RequestMemory {
  const memory = memoryWanted(header(headers, MEMORY_HEADER))
  if (memory === undefined) {
    return { ok: false, message: 'X-Mirador-Memory must be "on" or "off"', param: 'memory' }
  }
  const named = header(headers, SESSION_HEADER)
  const name = named ?? user
  if (name === undefined || name === '') return { ok: true, memory }
  try {
    return { ok: true, memory, session: validateSessionName(name) }
  } catch (err) {
    const from = named !== undefined ? 'X-Mirador-Session' : '`user` (taken as the session name)'
    return { ok: false, message: `${from}: ${MiradorError.from(err).message}`, param: named ? 'session' : 'user' }
  }
}
