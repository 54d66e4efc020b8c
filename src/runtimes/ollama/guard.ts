/**
 * One request's watchdog: an AbortController fed by the caller's signal and by a clock, and a
 * `race` that settles as soon as the request is aborted, whatever the client or fetch does, so a
 * silent server can never hang a run.
 *
 * The clock is one timer that checks a timestamp: `arm` (called for every chunk of a stream) only
 * notes when the wait began, and the timer, when it fires, stops the request if the wait has lasted
 * its limit, or sleeps for what is left. Resetting a timer per token (clearTimeout + setTimeout)
 * was about a tenth of what the runtime spent on a token.
 */
export type StopReason = 'user' | 'first-token' | 'idle' | 'deadline' | 'dispose'

export class RequestGuard {
  readonly controller = new AbortController()
  /** why the request was stopped (the first reason wins) */
  why: StopReason | undefined
  #timer: ReturnType<typeof setTimeout> | undefined
  /** when the timer fires (performance.now()) */
  #fireAt = 0
  /** what the clock times now, since when, and for how long; undefined while paused */
  #waiting: StopReason | undefined
  #since = 0
  #limit = 0
  #user: AbortSignal | undefined
  readonly #onUser = (): void => this.stop('user')

  constructor(userSignal?: AbortSignal) {
    this.#user = userSignal
    if (userSignal?.aborted) this.stop('user')
    else userSignal?.addEventListener('abort', this.#onUser, { once: true })
  }

  get signal(): AbortSignal {
    return this.controller.signal
  }

  stop(why: StopReason): void {
    this.why ??= why
    this.controller.abort(new Error(`request stopped (${why})`))
  }

  /** (re)starts the clock: `ms` from now without another arm() or a pause(), the request stops for `why` */
  arm(why: StopReason, ms: number): void {
    this.#waiting = why
    this.#since = performance.now()
    this.#limit = ms
    // the timer is only moved when it would fire too late (the first token's limit to the idle one)
    if (this.#timer === undefined || this.#fireAt > this.#since + ms) this.#schedule(ms)
  }

  /** stops the clock (the caller, not the server, has the time now); the next arm() restarts it */
  pause(): void {
    this.#waiting = undefined
  }

  #schedule(ms: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#fireAt = performance.now() + ms
    this.#timer = setTimeout(this.#check, ms)
  }

  readonly #check = (): void => {
    this.#timer = undefined
    const why = this.#waiting
    if (why === undefined) return
    const left = this.#since + this.#limit - performance.now()
    if (left <= 0) this.stop(why)
    else this.#schedule(left)
  }

  /** `p`, or a rejection as soon as the request is stopped */
  race<T>(p: Promise<T>): Promise<T> {
    const signal = this.signal
    if (signal.aborted) {
      p.catch(() => {})
      return Promise.reject(signal.reason)
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason)
      signal.addEventListener('abort', onAbort, { once: true })
      p.then(
        (v) => {
          signal.removeEventListener('abort', onAbort)
          resolve(v)
        },
        (e: unknown) => {
          signal.removeEventListener('abort', onAbort)
          reject(e)
        },
      )
    })
  }

  /** clears the timer and listeners; aborts the request unless it completed */
  dispose(completed: boolean): void {
    this.pause()
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    this.#user?.removeEventListener('abort', this.#onUser)
    if (!completed && !this.signal.aborted) this.stop('dispose')
  }
}
