/**
 * The yaml package, loaded on first use (about 30 ms and 230 files): a run whose files all come from
 * the validation cache (cache.ts) never parses YAML, so it never loads it. `import('yaml')` and this
 * require reach the same module (the package's `node` export is its CommonJS build).
 */
import { createRequire } from 'node:module'

let lib: typeof import('yaml') | undefined

export function yaml(): typeof import('yaml') {
  lib ??= createRequire(import.meta.url)('yaml') as typeof import('yaml')
  return lib
}
