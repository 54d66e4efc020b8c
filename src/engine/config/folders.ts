/**
 * YAML files across folders searched in order (project, user, shipped): a file in an earlier
 * folder hides one of the same name in a later one. Chains and tools are found this way.
 */
import { existsSync, readdirSync } from 'node:fs'
import path from 'node:path'

export const YAML_FILE = /\.ya?ml$/

export interface YamlListing {
  /** the file name without .yaml */
  name: string
  file: string
  /** an earlier folder has a file of the same name */
  shadowed: boolean
}

export function listYamlFiles(dirs: string[]): YamlListing[] {
  const seen = new Set<string>()
  const out: YamlListing[] = []
  for (const dir of dirs) {
    if (!existsSync(dir)) continue
    for (const f of readdirSync(dir)
      .filter((f) => YAML_FILE.test(f))
      .sort()) {
      const name = f.replace(YAML_FILE, '')
      out.push({ name, file: path.join(dir, f), shadowed: seen.has(name) })
      seen.add(name)
    }
  }
  return out
}
