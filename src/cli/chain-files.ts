/** Finding and listing chain files (chains/NAME.yaml). Cheap: no YAML is parsed here. */
import { existsSync } from 'node:fs'
import { YAML_FILE as CHAIN_FILE, listYamlFiles as listChainFiles } from '../engine/config/folders.js'
import path from 'node:path'
import { didYouMeanText } from '../engine/config/message-words.js'
import { MiradorError } from '../engine/errors.js'

export {
  YAML_FILE as CHAIN_FILE,
  listYamlFiles as listChainFiles,
  type YamlListing as ChainListing,
} from '../engine/config/folders.js'

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
  const known = listChainFiles(dirs)
    .filter((c) => !c.shadowed)
    .map((c) => c.name)
  throw new MiradorError(
    'CONFIG_NOT_FOUND',
    `no chain named "${nameOrPath}" (looked in ${dirs.join(', ')}).${didYouMeanText(nameOrPath, known)} ` +
      `Known chains: ${known.join(', ') || 'none'}. See \`mirador chain ls\`.`,
  )
}
