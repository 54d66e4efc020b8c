/**
 * Package tarballs: their npm integrity (sha512, as npm's ssri writes it) and their extraction.
 * A tarball from elsewhere is untrusted: it is listed first and refused if it holds anything but
 * regular files and folders (a symbolic or hard link could point outside the folder it is
 * unpacked into) or if it would unpack to more than a plugin could need; GNU tar already refuses
 * absolute and `..` member names.
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { promisify } from 'node:util'
import { MiradorError } from '../engine/errors.js'

const run = promisify(execFile)

/** bounds on what a plugin's tarball may unpack to (npm's largest packages are well under) */
const MAX_ENTRIES = 100_000
const MAX_BYTES = 500e6

/** `sha512-<base64>` of a file, as in package-lock.json and a registry's dist.integrity. */
export async function integrityOf(file: string): Promise<string> {
  const h = createHash('sha512')
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer)
  return `sha512-${h.digest('base64')}`
}

/** Unpacks an npm tarball's package (its one top folder, usually `package/`) into `dir`. */
export async function extractTarball(tgz: string, dir: string): Promise<void> {
  let listing: string
  try {
    listing = (await run('tar', ['-tvzf', tgz], { maxBuffer: 64 << 20 })).stdout
  } catch (err) {
    throw new MiradorError('PLUGIN_INSTALL', `${tgz} is not a gzipped tar archive (${(err as Error).message.trim()}).`)
  }
  const lines = listing.split('\n').filter((l) => l !== '')
  const odd = lines.find((l) => l[0] !== '-' && l[0] !== 'd')
  if (odd)
    throw new MiradorError(
      'PLUGIN_INSTALL',
      `${tgz} holds something other than files and folders (${odd.trim()}): a package tarball has no links.`,
    )
  // `-rw-r--r-- owner/group SIZE date time name`: what it unpacks to, before unpacking it
  const bytes = lines.reduce((n, l) => n + (Number(l.split(/\s+/)[2]) || 0), 0)
  if (lines.length > MAX_ENTRIES || bytes > MAX_BYTES)
    throw new MiradorError(
      'PLUGIN_INSTALL',
      `${tgz} unpacks to ${lines.length} entries and ${(bytes / 1e6).toFixed(0)} MB, over the ` +
        `${MAX_ENTRIES} entries and ${MAX_BYTES / 1e6} MB a plugin may have.`,
    )
  await mkdir(dir, { recursive: true })
  await run('tar', ['-xzf', tgz, '-C', dir, '--strip-components=1', '--no-same-owner', '--no-same-permissions'])
}
