/** Finding and listing chain files (chains/NAME.yaml). Cheap: no YAML is parsed here. */
import { existsSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { MiradorError } from '../engine/errors.js'

export const CHAIN_FILE = /\.ya?ml$/

export interface ChainListing {
  name: string
  file: string
  /** a project or user chain hides a shipped one of the same name */
  shadowed: boolean
}

export function listChainFiles(dirs: string[]): ChainListing[] {
  const seen = new Set<string>()
  const out: ChainListing[] = []
  for (const dir of dirs) {
    if (!existsSync(dir)) continue
    for (const f of readdirSync(dir).filter((f) => CHAIN_FILE.test(f)).sort()) {
      const name = f.replace(CHAIN_FILE, '')
      out.push({ name, file: path.join(dir, f), shadowed: seen.has(name) })
      seen.add(name)
    }
  }
  return out
}

/** A chain given by name (looked up in `dirs`) or by path to a file. */
export function findChainFile(nameOrPath: string, dirs: string[], cwd: string): string {
  if (CHAIN_FILE.test(nameOrPath) || nameOrPath.includes('/')) {
    const file = path.resolve(cwd, nameOrPath)
    if (existsSync(file)) return file
    throw new MiradorError('CONFIG_NOT_FOUND', `chain file ${nameOrPath} does not exist`)
  }
  for (const dir of dirs) {
    for (const ext of ['.yaml', '.yml']) {
      const file = path.join(dir, nameOrPath + ext)
      if (existsSync(file)) return file
    }
  }
  const known = listChainFiles(dirs).filter((c) => !c.shadowed).map((c) => c.name)
  throw new MiradorError('CONFIG_NOT_FOUND', `no chain named "${nameOrPath}" (looked in ${dirs.join(', ')}). Known chains: ${known.join(', ') || 'none'}. See \`mirador chain ls\`.`)
}

