/**
 * The `{{docs}}` block: passages of the user's documents relevant to the question, each headed by
 * its citation (`[notes/garden.md:12-30]`) so the model can say where it read something, within a
 * token budget. Passages are given whole (they are Markdown or code: their lines matter).
 */
import { approxTokens } from '../inject.js'
import { citation, type Passage } from './passages.js'

/** per stage, unless its `docs:` key says otherwise */
export const DOCS_DEFAULTS = { k: 4, budget_tokens: 800 } as const

const HEAD = "From the user's documents (cite them by the path:lines in brackets):"

export function docsBlock(passages: Passage[], budgetTokens: number): { text: string; passages: Passage[] } {
  let left = budgetTokens - approxTokens(HEAD)
  const parts: string[] = []
  const used: Passage[] = []
  for (const p of passages) {
    const part = `[${citation(p)}]${p.heading ? ` ${p.heading}` : ''}\n${p.text}`
    if (approxTokens(part) > left) continue
    parts.push(part)
    used.push(p)
    left -= approxTokens(part)
  }
  return { text: used.length ? [HEAD, ...parts].join('\n\n') : '', passages: used }
}
