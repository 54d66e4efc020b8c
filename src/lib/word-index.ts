/**
 * An inverted index of words over a whole collection, in memory only: which entries' words best
 * match a query by BM25, without reading every entry at each query. Memory recall uses it to add to
 * its vector candidates the memories that only a name, a date or a place ties to the question
 * (src/plugins/memory/words.ts).
 *
 * The score is lib/bm25.ts's (the same analysis, IDF and term weight, `bm25Idf` and `bm25Tf`) with
 * the statistics of the entries searched: document frequencies, their number and average length
 * over the whole collection, or over the entries of one tag (a memory's session) when the search is
 * limited to it, so a search equals `bm25` over exactly the entries it may return. It keeps no text,
 * only each entry's terms (stemmed words), its length and its tag. Adding or removing an entry costs
 * its terms; a search costs the postings of the query's terms.
 */
import { bm25Idf, bm25Tf, tokenize } from './bm25.js'

export interface WordMatch {
  id: string
  /** BM25 against every entry, > 0 */
  score: number
}

export class WordIndex {
  #slot = new Map<string, number>()
  #ids: (string | undefined)[] = []
  /** an entry's distinct terms, to take it out of the postings */
  #terms: (string[] | undefined)[] = []
  #length: number[] = []
  #tag: (string | undefined)[] = []
  #free: number[] = []
  /** term → slot → how often the entry holds it */
  #postings = new Map<string, Map<number, number>>()
  #totalLength = 0
  /** per tag: how many entries, and their total length (a tag search's statistics) */
  #tagged = new Map<string, { size: number; length: number }>()

  get size(): number {
    return this.#slot.size
  }

  has(id: string): boolean {
    return this.#slot.has(id)
  }

  ids(): IterableIterator<string> {
    return this.#slot.keys()
  }

  /** Indexes `text` under `id` (replacing what `id` had). */
  add(id: string, text: string, tag?: string): void {
    this.remove(id)
    const terms = tokenize(text)
    const tf = new Map<string, number>()
    for (const t of terms) tf.set(t, (tf.get(t) ?? 0) + 1)
    const slot = this.#free.pop() ?? this.#ids.length
    this.#slot.set(id, slot)
    this.#ids[slot] = id
    this.#terms[slot] = [...tf.keys()]
    this.#length[slot] = terms.length
    this.#tag[slot] = tag
    this.#totalLength += terms.length
    if (tag !== undefined) {
      const g = this.#tagged.get(tag) ?? { size: 0, length: 0 }
      this.#tagged.set(tag, { size: g.size + 1, length: g.length + terms.length })
    }
    for (const [t, f] of tf) {
      let p = this.#postings.get(t)
      if (!p) this.#postings.set(t, (p = new Map()))
      p.set(slot, f)
    }
  }

  /** Takes `id` out; false when it was not there. */
  remove(id: string): boolean {
    const slot = this.#slot.get(id)
    if (slot === undefined) return false
    for (const t of this.#terms[slot]!) {
      const p = this.#postings.get(t)!
      p.delete(slot)
      if (p.size === 0) this.#postings.delete(t)
    }
    this.#totalLength -= this.#length[slot]!
    const tag = this.#tag[slot]
    if (tag !== undefined) {
      const g = this.#tagged.get(tag)!
      if (g.size === 1) this.#tagged.delete(tag)
      else this.#tagged.set(tag, { size: g.size - 1, length: g.length - this.#length[slot]! })
    }
    this.#slot.delete(id)
    this.#ids[slot] = undefined
    this.#terms[slot] = undefined
    this.#tag[slot] = undefined
    this.#free.push(slot)
    return true
  }

  clear(): void {
    this.#slot.clear()
    this.#ids = []
    this.#terms = []
    this.#length = []
    this.#tag = []
    this.#free = []
    this.#postings.clear()
    this.#totalLength = 0
    this.#tagged.clear()
  }

  /**
   * The `n` entries (with `tag`, when given) that score best against `query`, best first (ties:
   * by id); entries sharing no term with it are never returned.
   */
  search(query: string, n: number, filter: { tag?: string | undefined } = {}): WordMatch[] {
    const tag = filter.tag
    const { size, length } =
      tag === undefined ? { size: this.#slot.size, length: this.#totalLength } : (this.#tagged.get(tag) ?? NONE)
    if (size === 0 || n <= 0 || length === 0) return []
    const avgdl = length / size
    const scores = new Map<number, number>()
    for (const t of new Set(tokenize(query))) {
      const p = this.#postings.get(t)
      if (!p) continue
      const held = tag === undefined ? p : new Map([...p].filter(([slot]) => this.#tag[slot] === tag))
      const idf = bm25Idf(size, held.size)
      for (const [slot, f] of held)
        scores.set(slot, (scores.get(slot) ?? 0) + idf * bm25Tf(f, this.#length[slot]!, avgdl))
    }
    // the best n, kept sorted as they come (n is small)
    const best: WordMatch[] = []
    for (const [slot, score] of scores) {
      const id = this.#ids[slot]!
      if (best.length === n && !before(score, id, best[n - 1]!)) continue
      let at = best.length
      while (at > 0 && before(score, id, best[at - 1]!)) at--
      best.splice(at, 0, { id, score })
      if (best.length > n) best.pop()
    }
    return best
  }
}

const NONE = { size: 0, length: 0 }

function before(score: number, id: string, than: WordMatch): boolean {
  return score > than.score || (score === than.score && id < than.id)
}
