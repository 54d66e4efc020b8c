/**
 * What was validated, kept by content: a YAML file that passed its schema once is not parsed or
 * validated again while its text, its schema and the plugins' stage keys are unchanged. Its value
 * comes back from `$MIRADOR_HOME/cache/config/KEY.json`, so a run's set-up loads neither the YAML
 * parser nor ajv. The Document (for error positions and rewrites) is parsed only if asked for.
 *
 * The cache holds validated copies of the user's own YAML files (chains, config, manifest,
 * profiles), nothing of a run. A file that fails validation is never cached; a broken or foreign
 * cache entry is ignored. Writes are atomic (temp file, rename) and best effort.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { stableKey } from '../stable-key.js'
import type { ConfigKind } from './types.js'
import { schemaFile } from './validate.js'

/** entries kept at most; beyond it the oldest half goes */
const MAX_ENTRIES = 1000

let cacheDir: string | undefined

/** Where validated files are kept (`$MIRADOR_HOME/cache/config`); undefined turns the cache off. */
export function useConfigCache(dir: string | undefined): void {
  cacheDir = dir
}

const schemaStamps = new Map<ConfigKind, string>()

/** the schema file as it is now: a changed schema (an upgrade, an edit) misses every entry */
function schemaStamp(kind: ConfigKind): string {
  let stamp = schemaStamps.get(kind)
  if (!stamp) {
    const st = statSync(schemaFile(kind))
    stamp = `${st.size}:${st.mtimeMs}`
    schemaStamps.set(kind, stamp)
  }
  return stamp
}

export function cacheKey(
  kind: ConfigKind,
  file: string,
  text: string,
  extra: Record<string, object> | undefined,
): string | undefined {
  if (!cacheDir) return undefined
  try {
    // the file's name is part of what it means: a chain without `name:` is named after it
    return createHash('sha256')
      .update(`${kind}\0${schemaStamp(kind)}\0${path.basename(file)}\0${extra ? stableKey(extra) : ''}\0`)
      .update(text)
      .digest('hex')
      .slice(0, 40)
  } catch {
    return undefined
  }
}

export function readCached(key: string | undefined): { value: unknown } | undefined {
  if (!key || !cacheDir) return undefined
  try {
    const entry = JSON.parse(readFileSync(path.join(cacheDir, `${key}.json`), 'utf8')) as {
      key?: unknown
      value?: unknown
    }
    return entry.key === key && entry.value !== undefined ? { value: entry.value } : undefined
  } catch {
    return undefined
  }
}

export function writeCached(key: string | undefined, value: unknown): void {
  if (!key || !cacheDir) return
  try {
    mkdirSync(cacheDir, { recursive: true, mode: 0o700 })
    const file = path.join(cacheDir, `${key}.json`)
    const tmp = `${file}.${process.pid}.tmp`
    writeFileSync(tmp, JSON.stringify({ key, value }), { mode: 0o600 })
    renameSync(tmp, file)
    prune(cacheDir)
  } catch {
    // a read-only home only costs the next run a validation
  }
}

function prune(dir: string): void {
  const names = readdirSync(dir).filter((n) => n.endsWith('.json'))
  if (names.length <= MAX_ENTRIES) return
  const byAge = names
    .map((n) => ({ n, at: statSync(path.join(dir, n)).mtimeMs }))
    .sort((a, b) => a.at - b.at)
    .slice(0, names.length - MAX_ENTRIES / 2)
  for (const { n } of byAge) unlinkSync(path.join(dir, n))
}
