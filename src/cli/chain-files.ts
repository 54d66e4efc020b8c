/**
 * Finding and listing chain files (chains/*.yaml). Cheap: no YAML is parsed here (chain-name.ts).
 *
 * A chain's name is its `name:` key, else its file name. The folders are searched in order
 * (project, user, shipped): a chain hides the chains of the same name in later folders. Two files
 * of one folder that claim the same name are a conflict: `chain validate` reports it, `chain ls`
 * warns, and running that name is refused rather than one of them being picked.
 */
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { YAML_FILE as CHAIN_FILE, listYamlFiles } from '../engine/config/folders.js'
import { didYouMeanText } from '../engine/config/message-words.js'
import { MiradorError } from '../engine/errors.js'
import { readNameKey, type NameKey } from './chain-name.js'

export { YAML_FILE as CHAIN_FILE } from '../engine/config/folders.js'

export interface ChainEntry {
  /** the `name:` key, else the file name without .yaml */
  name: string
  file: string
  /** index of its folder in the list searched */
  folder: number
  /** where the `name:` key is, when the name comes from one */
  nameKey?: NameKey
  /** a chain of the same name in an earlier folder hides this one */
  shadowed: boolean
  /** the other files of the same folder that claim the same name */
  conflicts: string[]
}

function nameKeyOf(file: string): NameKey | undefined {
  try {
    return readNameKey(readFileSync(file, 'utf8'))
  } catch {
    // unreadable: named after its file; loading it reports why
    return undefined
  }
}

/** Every chain file of `dirs`, in search order, named, with what hides what and what conflicts. */
export function listChains(dirs: string[]): ChainEntry[] {
  const entries: ChainEntry[] = dirs.flatMap((dir, folder) =>
    listYamlFiles([dir]).map((f) => {
      const nameKey = nameKeyOf(f.file)
      return {
        name: nameKey?.name ?? f.name,
        file: f.file,
        folder,
        ...(nameKey ? { nameKey } : {}),
        shadowed: false,
        conflicts: [],
      }
    }),
  )
  for (const e of entries) {
    const same = entries.filter((o) => o !== e && o.name === e.name)
    e.shadowed = same.some((o) => o.folder < e.folder)
    e.conflicts = same.filter((o) => o.folder === e.folder).map((o) => o.file)
  }
  return entries
}

/** A file as the user should read it: relative to the working folder when inside it. */
export function shownPath(file: string, cwd: string): string {
  const rel = path.relative(cwd, file)
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file
}

/** The error for a name that several files of one folder claim. */
export function conflictError(name: string, files: string[], cwd: string): MiradorError {
  const shown = files.map((f) => shownPath(f, cwd))
  return new MiradorError(
    'CHAIN_NAME_CONFLICT',
    `${shown.slice(0, -1).join(', ')} and ${shown.at(-1)} ${shown.length > 2 ? 'all' : 'both'} ` +
      `name the chain "${name}": ` +
      'give one of them another name (its name: key, or its file name when it has none), ' +
      'or run a file by its path. `mirador chain validate` shows where.',
    { details: { name, files: shown } },
  )
}

/** `chain validate`'s report of one file of a conflict, at its `name:` key when it has one. */
export function conflictProblem(entry: ChainEntry, cwd: string): MiradorError {
  const file = shownPath(entry.file, cwd)
  const others = entry.conflicts.map((f) => shownPath(f, cwd)).join(', ')
  const from = entry.nameKey ? 'its name: key' : 'its file name'
  return new MiradorError(
    'CHAIN_NAME_CONFLICT',
    `the chain name "${entry.name}" (from ${from}) is also claimed by ${others} in the same folder: ` +
      `\`mirador chain run ${entry.name}\` will not pick one; give one of them another name`,
    {
      ...(entry.nameKey ? { location: { file, line: entry.nameKey.line, column: entry.nameKey.column } } : {}),
      details: { name: entry.name, conflicts: entry.conflicts.map((f) => shownPath(f, cwd)) },
    },
  )
}

/** A chain given by name (looked up in `dirs`) or by path to a file. */
export function findChainFile(nameOrPath: string, dirs: string[], cwd: string): string {
  if (CHAIN_FILE.test(nameOrPath) || nameOrPath.includes('/')) {
    const file = path.resolve(cwd, nameOrPath)
    if (existsSync(file)) return file
    throw new MiradorError('CONFIG_NOT_FOUND', `chain file ${nameOrPath} does not exist`)
  }
  const all = listChains(dirs)
  const found = all.find((c) => c.name === nameOrPath && !c.shadowed)
  if (found && found.conflicts.length > 0) throw conflictError(found.name, [found.file, ...found.conflicts], cwd)
  if (found) return found.file
  // a file of that name that calls itself something else
  const renamed = all.find((c) => !c.shadowed && path.basename(c.file).replace(CHAIN_FILE, '') === nameOrPath)
  if (renamed)
    throw new MiradorError(
      'CONFIG_NOT_FOUND',
      `no chain named "${nameOrPath}": ${shownPath(renamed.file, cwd)} names itself "${renamed.name}" ` +
        `(name: on line ${renamed.nameKey?.line}); use that name, or the file's path`,
    )
  const known = [...new Set(all.filter((c) => !c.shadowed).map((c) => c.name))]
  throw new MiradorError(
    'CONFIG_NOT_FOUND',
    `no chain named "${nameOrPath}" (looked in ${dirs.join(', ')}).${didYouMeanText(nameOrPath, known)} ` +
      `Known chains: ${known.join(', ') || 'none'}. See \`mirador chain ls\`.`,
  )
}
