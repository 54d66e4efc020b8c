/**
 * Where a rating's weight is written. A project's (or the user's own) chain file is rewritten in
 * place. A chain shipped with Mirador is never touched (inside an installed package it lives in
 * node_modules, or is not writable at all): its weights go to the user's copy,
 * `$MIRADOR_HOME/chains/NAME.yaml`, made on the first rating from the shipped file's exact text
 * (comments and layout kept; only its schema line is pointed at the installed schema, as `chain
 * copy` does, since the shipped `../schemas/…` holds only beside the shipped folder). The user
 * folder comes before the shipped one, so from then on the copy is the chain that runs, and later
 * ratings, `learn diff` and `learn rollback` all see it.
 *
 * "Shipped" is decided by real path against the package's own `chains/` folder rather than by the
 * position of a folder in the search list: run from Mirador's own checkout, that folder is also the
 * project's, and rating must not edit the repository either.
 */
import { realpathSync } from 'node:fs'
import { readFile, realpath } from 'node:fs/promises'
import path from 'node:path'
import { MiradorError } from '../../engine/errors.js'
import { PACKAGE_ROOT } from '../../engine/package-root.js'
import { writeFileAtomic } from '../../lib/atomic-write.js'
import { withSchemaLine } from '../../lib/schema-line.js'

const SHIPPED_DIR = path.join(PACKAGE_ROOT, 'chains')
const CHAIN_SCHEMA = path.join(PACKAGE_ROOT, 'schemas', 'chain.schema.json')

function realDir(dir: string): string {
  try {
    return realpathSync(dir)
  } catch {
    return path.resolve(dir)
  }
}

/** Whether `file` is one of the chains shipped with Mirador. */
export async function isShipped(file: string, shippedDir = SHIPPED_DIR): Promise<boolean> {
  const real = await realpath(file).catch(() => path.resolve(file))
  const rel = path.relative(realDir(shippedDir), real)
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel)
}

/**
 * The file a rating of chain `chain` (recorded as coming from `file`) writes its weight into: `file`
 * itself, or for a shipped chain the user's copy, created now if it is not there yet.
 */
export async function weightsFile(
  file: string,
  chain: string,
  home: string,
  shippedDir = SHIPPED_DIR,
): Promise<{ file: string; copied: boolean }> {
  if (!(await isShipped(file, shippedDir))) return { file, copied: false }
  const copy = path.join(home, 'chains', `${chain}.yaml`)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new MiradorError('CONFIG_NOT_FOUND', `the shipped chain ${file} cannot be read to copy its weights`, {
      cause: err,
      details: { file, skipped: true },
    })
  }
  try {
    // exclusive: a copy made meanwhile (another rating, the user) is kept, and rated below
    await writeFileAtomic(copy, withSchemaLine(text, CHAIN_SCHEMA), 0o644, { exclusive: true })
    return { file: copy, copied: true }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { file: copy, copied: false }
    throw new MiradorError('USAGE', `cannot write the user copy ${copy} of the shipped chain ${chain}`, {
      cause: err,
      details: { file: copy, skipped: true },
    })
  }
}
