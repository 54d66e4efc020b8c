/**
 * What is checked before a sandboxed plugin's host starts: Node's permission model only grants,
 * never denies, so a grant that would cover Mirador's keys, or a link in the plugin's folder that
 * leads outside what it may read (Node 20's model follows links), is refused here instead.
 */
import { realpath } from 'node:fs/promises'
import path from 'node:path'
import { MiradorError } from '../engine/errors.js'
import { inside, linksOutside } from './links.js'

export async function refuseUnsafeStart(name: string, dir: string, home: string, reads: string[]): Promise<void> {
  const keys = path.join(home, 'keys')
  const keyRoots = [
    keys,
    ...(await realpath(keys)
      .then((k) => [k])
      .catch(() => [])),
  ]
  if (keyRoots.some((k) => inside(k, reads))) {
    throw new MiradorError(
      'PLUGIN_SANDBOX',
      `sandboxed plugin ${name} was not started: what it may read (its folder or permissions.fs.read) ` +
        `covers Mirador's keys (${keys}). Move the plugin out of that folder, or narrow permissions.fs.read.`,
      { details: { plugin: name, reason: 'apply' } },
    )
  }
  const links = await linksOutside(dir, reads)
  if (links.length) {
    throw new MiradorError(
      'PLUGIN_SANDBOX',
      `sandboxed plugin ${name} was not started: its folder holds a link to a path outside its permissions ` +
        `(${links.slice(0, 3).join(', ')}${links.length > 3 ? ', …' : ''}). Remove the link, or declare the ` +
        'path in permissions.fs.read of its package.json.',
      { details: { plugin: name, reason: 'apply' } },
    )
  }
}
