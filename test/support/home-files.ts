/** What a privacy test reads: every file under a $MIRADOR_HOME, and which of them hold a text. */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'

/** Every regular file under `dir`, recursively (not the memory service's socket). */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const f = path.join(dir, n)
    const st = statSync(f)
    return st.isDirectory() ? filesUnder(f) : st.isFile() ? [f] : []
  })
}

/** The files under `home` whose bytes contain `needle` (any case; as UTF-8 and as UTF-16). */
export function filesHolding(home: string, needle: string): string[] {
  const forms = [Buffer.from(needle.toLowerCase()), Buffer.from(needle.toLowerCase(), 'utf16le')]
  return filesUnder(home).filter((f) => {
    const bytes = Buffer.from(readFileSync(f).toString('latin1').toLowerCase(), 'latin1')
    return forms.some((b) => bytes.includes(b))
  })
}
