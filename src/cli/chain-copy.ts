/**
 * `mirador chain copy`: a chain (shipped, user or project) copied into a folder to be edited. The
 * copy's schema line points at the installed schema by its absolute path, so an editor finds it
 * wherever the copy lives (the shipped files' `../schemas/…` holds only beside the shipped
 * folder); with a new name, its `name:` key says the new name. Nothing else of the text changes.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs'
import path from 'node:path'
import { MiradorError } from '../engine/errors.js'
import { writeFileAtomic } from '../lib/atomic-write.js'
import { withSchemaLine } from '../lib/schema-line.js'
import { CHAIN_FILE, conflictError, findChainFile, listChains, shownPath } from './chain-files.js'
import { CHAIN_NAME, readNameKey, replaceNameKey } from './chain-name.js'
import { chainDirs, SCHEMAS_DIR } from './paths.js'

export { withSchemaLine } from '../lib/schema-line.js'

export interface CopyOptions {
  /** the chain: a name or a path to a file */
  chain: string
  cwd: string
  home: string
  /** the folder to copy into (default ./chains) */
  to?: string
  /** the copy's name (default the chain's own) */
  as?: string
  /** replace an existing file */
  force?: boolean
}

export interface CopyResult {
  from: string
  to: string
  name: string
  schema: string
  replaced: boolean
}

function realOrResolved(file: string): string {
  try {
    return realpathSync(file)
  } catch {
    return path.resolve(file)
  }
}

/**
 * The file to copy. Asked by name when the copy already exists (copied before, so it hides the
 * original), that is the chain the copy hides: `--force` then refreshes the copy from it.
 */
function sourceFile(o: CopyOptions, to: (own: string) => string): { from: string; to: string; own: string } {
  const dirs = chainDirs(o.cwd, o.home)
  const first = findChainFile(o.chain, dirs, o.cwd)
  const own = readNameKey(readFileSync(first, 'utf8'))?.name ?? path.basename(first).replace(CHAIN_FILE, '')
  const target = to(own)
  if (realOrResolved(target) !== realOrResolved(first)) return { from: first, to: target, own }
  const byName = !CHAIN_FILE.test(o.chain) && !o.chain.includes('/')
  const all = listChains(dirs)
  const folder = all.find((c) => c.file === first)?.folder ?? Infinity
  const next = byName ? all.find((c) => c.name === own && c.folder > folder) : undefined
  if (!next)
    throw new MiradorError(
      'USAGE',
      `${shownPath(target, o.cwd)} is the chain's own file: copy it under another name (--as NAME) ` +
        'or into another folder (--to DIR)',
    )
  if (next.conflicts.length) throw conflictError(own, [next.file, ...next.conflicts], o.cwd)
  return { from: next.file, to: target, own }
}

export async function copyChain(o: CopyOptions): Promise<CopyResult> {
  const dir = path.resolve(o.cwd, o.to ?? 'chains')
  const named = (own: string) => {
    const name = o.as ?? own
    if (!CHAIN_NAME.test(name))
      throw new MiradorError(
        'USAGE',
        `"${name}" is not a chain name: a lowercase letter, then lowercase letters, digits, _ or - ` +
          '(at most 64 characters in all). Choose one with --as NAME.',
      )
    return path.join(dir, `${name}.yaml`)
  }
  const { from, to, own } = sourceFile(o, named)
  const name = path.basename(to, '.yaml')
  const text = readFileSync(from, 'utf8')
  const shown = shownPath(to, o.cwd)
  const exists = existsSync(to)
  if (exists && !o.force)
    throw new MiradorError(
      'FILE_EXISTS',
      `${shown} already exists: pass --force to replace it with a fresh copy of ${shownPath(from, o.cwd)}, ` +
        'or --as NAME to copy under another name',
    )
  // the copy must not make a name two files of its folder claim
  const other = listChains([dir]).find((c) => c.name === name && c.file !== to)
  if (other)
    throw new MiradorError(
      'CHAIN_NAME_CONFLICT',
      `${shownPath(other.file, o.cwd)} already names the chain "${name}" in that folder: ` +
        'choose another name with --as NAME',
    )
  const schema = path.join(SCHEMAS_DIR, 'chain.schema.json')
  const renamed = name === own ? text : (replaceNameKey(text, name) ?? text)
  try {
    await writeFileAtomic(to, withSchemaLine(renamed, schema), 0o644, { exclusive: !o.force })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      throw new MiradorError('FILE_EXISTS', `${shown} appeared while copying: pass --force to replace it`)
    throw new MiradorError('USAGE', `cannot write ${shown}: ${(err as Error).message}`, { cause: err })
  }
  return { from, to, name, schema, replaced: exists }
}
