/**
 * The bearer token a server bound beyond loopback requires: 32 random bytes in
 * $MIRADOR_HOME/serve/token (0600 in a 0700 folder), made on first need and kept, so clients
 * configured once keep working. `created` tells the command to show it (the only time it is shown).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { createExclusive, ensurePrivateDir } from '../lib/crypto.js'

export function tokenFile(home: string): string {
  return path.join(home, 'serve', 'token')
}

export async function serveToken(home: string): Promise<{ token: string; file: string; created: boolean }> {
  const file = tokenFile(home)
  await ensurePrivateDir(path.dirname(file))
  const created = await createExclusive(file, Buffer.from(randomBytes(32).toString('base64url')))
  return { token: (await readFile(file, 'utf8')).trim(), file, created }
}

/** `Authorization: Bearer TOKEN`, compared in constant time. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(/^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1] ?? '')
  const want = Buffer.from(token)
  return given.length === want.length && timingSafeEqual(given, want)
}
