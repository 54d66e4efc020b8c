/**
 * Pure text plumbing for the llama.cpp runtime (no node-llama-cpp import, unit-testable alone):
 * turning a token stream into correctly spaced text pieces, and cutting the stream at stop strings.
 */

/** One streamed piece of text: usually one token, several when a UTF-8 character spans tokens. */
export interface Piece {
  text: string
  /** natural log of the probability of the token(s) that made this piece (sum for several) */
  logprob?: number
}

/** `detokenize(tokens, lastTokens)` of node-llama-cpp's LlamaModel, with special tokens off. */
export type Detokenize<T> = (tokens: readonly T[], lastTokens: readonly T[]) => string

/** Tokens of context handed to detokenize: enough for SentencePiece's leading-space rule. */
const CONTEXT_TOKENS = 8
/** A UTF-8 character is at most 4 bytes, so at most 4 byte-fallback tokens. */
const MAX_PENDING = 4

/**
 * Turns tokens into text one piece at a time. Detokenizing a token alone drops its leading space
 * with SentencePiece vocabularies ("▁there" → "there"), so each token is detokenized with the
 * tokens before it (the prompt, then the generated ones) as context. A token that ends in the
 * middle of a UTF-8 character (byte-fallback tokens) is held until the character is complete.
 */
export class TokenDecoder<T = number> {
  private readonly context: T[]
  private pending: T[] = []
  private pendingLogprob: number | undefined = undefined

  constructor(
    private readonly detokenize: Detokenize<T>,
    contextTokens: readonly T[],
  ) {
    this.context = contextTokens.slice(-CONTEXT_TOKENS)
  }

  /** Adds a token; returns the piece it completes, if any. */
  push(token: T, logprob?: number): Piece | undefined {
    this.pending.push(token)
    if (logprob !== undefined) this.pendingLogprob = (this.pendingLogprob ?? 0) + logprob
    const text = this.detokenize(this.pending, this.context)
    if (text.endsWith('\uFFFD') && this.pending.length < MAX_PENDING) return undefined
    return this.take(text)
  }

  /** Whatever is held back (an incomplete character), as is. */
  flush(): Piece | undefined {
    if (this.pending.length === 0) return undefined
    return this.take(this.detokenize(this.pending, this.context))
  }

  private take(text: string): Piece {
    const piece: Piece = this.pendingLogprob === undefined ? { text } : { text, logprob: this.pendingLogprob }
    this.context.push(...this.pending)
    this.context.splice(0, Math.max(0, this.context.length - CONTEXT_TOKENS))
    this.pending = []
    this.pendingLogprob = undefined
    return piece
  }
}

/**
 * Cuts a stream of pieces at the first stop string. Text that could be the beginning of a stop
 * string is held back until it is known not to be one; the stop string itself (and anything after
 * it) is never emitted. Pieces are emitted whole, except the one a stop string starts inside.
 */
export class StopMatcher {
  private readonly stops: string[]
  private held: Piece[] = []
  stopped = false

  constructor(stops: readonly string[] = []) {
    this.stops = stops.filter((s) => s.length > 0)
  }

  /** Adds a piece; returns the pieces that are now safe to emit. */
  push(piece: Piece): Piece[] {
    if (this.stopped) return []
    if (this.stops.length === 0) return piece.text === '' ? [] : [piece]
    this.held.push(piece)
    const text = this.held.map((p) => p.text).join('')

    let stopAt = -1
    for (const s of this.stops) {
      const i = text.indexOf(s)
      if (i !== -1 && (stopAt === -1 || i < stopAt)) stopAt = i
    }
    if (stopAt !== -1) {
      this.stopped = true
      const out = this.cut(stopAt, true)
      this.held = []
      return out
    }
    return this.cut(text.length - this.heldSuffix(text), false)
  }

  /** The held-back pieces, at the end of the stream. */
  flush(): Piece[] {
    const out = this.stopped ? [] : this.held.filter((p) => p.text !== '')
    this.held = []
    return out
  }

  /** Length of the longest suffix of `text` that is a proper prefix of a stop string. */
  private heldSuffix(text: string): number {
    let best = 0
    for (const s of this.stops) {
      for (let n = Math.min(s.length - 1, text.length); n > best; n--) {
        if (text.endsWith(s.slice(0, n))) {
          best = n
          break
        }
      }
    }
    return best
  }

  /**
   * Emits the held pieces that end at or before `limit` characters. With `partial`, the piece
   * that straddles `limit` is emitted truncated; otherwise it stays held with all that follow.
   */
  private cut(limit: number, partial: boolean): Piece[] {
    const out: Piece[] = []
    let end = 0
    let i = 0
    for (; i < this.held.length; i++) {
      const p = this.held[i]!
      if (end + p.text.length <= limit) {
        if (p.text !== '') out.push(p)
        end += p.text.length
        continue
      }
      if (partial && limit > end) out.push({ ...p, text: p.text.slice(0, limit - end) })
      break
    }
    this.held = this.held.slice(i)
    return out
  }
}

/** A token llama.cpp sampled, with its probability when it was asked for. */
export interface TokenRecord<T = number> {
  token: T
  confidence?: number
}

/**
 * Pairs streamed chunks with the tokens sampled for them, to give each chunk a log-probability.
 * The tokens of the streamed chunks are the sampled tokens in order, minus the ones never shown
 * (a stop string, a function call, the end-of-generation token): each chunk token is looked for
 * from where the last one was found. A token not found (none of node-llama-cpp's own replacements
 * of a sampled token) adds nothing and moves nothing.
 */
export class ConfidenceTrail<T = number> {
  private at = 0

  constructor(private readonly records: readonly TokenRecord<T>[]) {}

  /** the sum of the natural logs of the chunk's tokens' probabilities, or undefined when none is known */
  logprobOf(tokens: readonly T[]): number | undefined {
    let sum: number | undefined
    for (const token of tokens) {
      let i = this.at
      while (i < this.records.length && this.records[i]!.token !== token) i++
      if (i === this.records.length) continue
      this.at = i + 1
      const c = this.records[i]!.confidence
      if (c !== undefined && c > 0) sum = (sum ?? 0) + Math.log(c)
    }
    return sum
  }
}
