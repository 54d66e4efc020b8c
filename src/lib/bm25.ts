/**
 * The memory plugin's text analysis and its BM25, shared by recall (lexical re-ranking) and the
 * hashing embedder (its features), so both see the same words.
 *
 * Analysis (`analyze`): Unicode NFKD with accents dropped, lower case, apostrophes removed
 * ("Sam's" → "sams"), thousands separators joined ("1,150" → "1150"); words are runs of letters and
 * digits (a decimal like "2.5" stays one word); one-letter words and a short list of English
 * stop words (articles, pronouns, auxiliaries, question words) are dropped; each word is then
 * reduced by a light suffix stemmer (`stem`: plurals, -ing, -ed, -ly, a final e), so "hiking",
 * "hikes" and "hike" meet. It is English-centred; other languages are split and lower-cased but
 * not stemmed usefully.
 *
 * BM25 (`bm25`) is computed over the documents it is given (recall passes its candidates): document
 * frequencies, IDF and the average length all come from that set. word-index.ts keeps the same
 * score over a whole collection (with `bm25Idf` and `bm25Tf`), to choose candidates by words. IDF
 * is the non-negative form ln(1 + (N − df + 0.5) / (df + 0.5)); each distinct query term counts
 * once; k1 = 1.2, b = 0.75.
 */

export const BM25_K1 = 1.2
export const BM25_B = 0.75

/** Words that carry no topic: dropped from queries, documents and embedder features alike. */
export const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'a an the and or but if then else so than too very just also only not no nor ' +
    'i me my mine myself we us our ours ourselves you your yours yourself yourselves ' +
    'he him his himself she her hers herself it its itself they them their theirs themselves ' +
    'this that these those there here ' +
    'am is are was were be been being have has had having do does did doing done ' +
    'will would shall should can could might must ' +
    'what which who whom whose when where why how ' +
    'of at by for with about against between into through during before after above below ' +
    'to from up down in out on off over under again further once ' +
    'all any both each few more most other some such own same ' +
    'as until while because s t d ll m re ve y im ive id youre dont doesnt didnt isnt arent ' +
    'wasnt werent cant couldnt wont wouldnt shouldnt thats whats'
  ).split(/\s+/),
)

/** Undo the consonant doubling of -ing / -ed forms: "runn" → "run", but "fall", "miss" stay. */
function undouble(s: string): string {
  const n = s.length
  if (n >= 3 && s[n - 1] === s[n - 2] && /[bcdfgkmnprtv]/.test(s[n - 1]!)) return s.slice(0, -1)
  return s
}

/**
 * A light English suffix stemmer (plural, -ing, -ed, -ly, final e). Deliberately small: it
 * conflates the common inflections of a word and little else; it never looks words up.
 */
export function stem(word: string): string {
  let s = word
  if (s.length <= 3 || /\d/.test(s)) return s
  if (s.endsWith('sses')) s = s.slice(0, -2)
  else if (s.endsWith('ies') && s.length > 4) s = `${s.slice(0, -3)}y`
  else if (/(sh|ch|x|z)es$/.test(s)) s = s.slice(0, -2)
  else if (s.endsWith('s') && !/(ss|us|is)$/.test(s)) s = s.slice(0, -1)

  if (s.length > 5 && s.endsWith('ing')) s = undouble(s.slice(0, -3))
  else if (s.length > 4 && s.endsWith('ied')) s = `${s.slice(0, -3)}y`
  else if (s.length > 4 && s.endsWith('ed') && !s.endsWith('eed')) s = undouble(s.slice(0, -2))
  else if (s.length > 5 && s.endsWith('ly')) s = s.slice(0, -2)

  if (s.length > 3 && s.endsWith('e')) s = s.slice(0, -1)
  return s
}

/** What `analyze` gives: the kept words (normalised, not stemmed) and their terms (stemmed), aligned. */
export interface Analysis {
  words: string[]
  terms: string[]
}

const WORD = /\p{N}+(?:\.\p{N}+)*|[\p{L}\p{N}]+/gu

/** Normalises, splits, drops stop words and stems; see the file's comment. */
export function analyze(text: string): Analysis {
  const normal = text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/['’ʼ`]/g, '')
    .replace(/(\d),(?=\d{3}\b)/g, '$1')
  const words: string[] = []
  const terms: string[] = []
  for (const w of normal.match(WORD) ?? []) {
    if (STOP_WORDS.has(w)) continue
    if (w.length < 2 && !/\d/.test(w)) continue
    words.push(w)
    terms.push(stem(w))
  }
  return { words, terms }
}

/** The stemmed terms of a text (what BM25 counts). */
export function tokenize(text: string): string[] {
  return analyze(text).terms
}

export interface Bm25Options {
  k1?: number
  b?: number
}

export interface Bm25Result {
  /** one score per document, ≥ 0 */
  scores: number[]
  /** Σ IDF over the distinct query terms: the score of an average-length document holding each once */
  ideal: number
  /** IDF of each distinct query term over this document set */
  idf: Map<string, number>
}

/** BM25 of one query against a set of documents, given as term lists (`tokenize`). */
export function bm25(
  query: readonly string[],
  docs: readonly (readonly string[])[],
  options: Bm25Options = {},
): Bm25Result {
  const k1 = options.k1 ?? BM25_K1
  const b = options.b ?? BM25_B
  const qterms = [...new Set(query)]
  const n = docs.length
  const idf = new Map<string, number>()
  if (n === 0 || qterms.length === 0) return { scores: docs.map(() => 0), ideal: 0, idf }

  const tfs = docs.map((d) => {
    const tf = new Map<string, number>()
    for (const t of d) tf.set(t, (tf.get(t) ?? 0) + 1)
    return tf
  })
  let ideal = 0
  for (const t of qterms) {
    let df = 0
    for (const tf of tfs) if (tf.has(t)) df++
    const w = bm25Idf(n, df)
    idf.set(t, w)
    ideal += w
  }
  const avgdl = docs.reduce((s, d) => s + d.length, 0) / n
  const scores = tfs.map((tf, i) => {
    if (avgdl === 0) return 0
    let s = 0
    for (const t of qterms) {
      const f = tf.get(t)
      if (f) s += idf.get(t)! * bm25Tf(f, docs[i]!.length, avgdl, k1, b)
    }
    return s
  })
  return { scores, ideal, idf }
}

/** IDF of a term held by `df` of `n` documents (the non-negative form; see the file's comment). */
export function bm25Idf(n: number, df: number): number {
  return Math.log(1 + (n - df + 0.5) / (df + 0.5))
}

/** The saturated, length-normalised weight of a term seen `f` times in a document of `dl` terms. */
export function bm25Tf(f: number, dl: number, avgdl: number, k1 = BM25_K1, b = BM25_B): number {
  return (f * (k1 + 1)) / (f + k1 * (1 - b + (b * dl) / avgdl))
}
