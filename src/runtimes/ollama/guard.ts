/**
 * One request's watchdog: an AbortController fed by the caller's signal and by timers, and a
 * `race` that settles as soon as the request is aborted, whatever the client or fetch does, so a
 * silent server can never hang a run.
 */
export type StopReason = 'user' | 'first-token' | 'idle' | 'deadline' | 'dispose'

export class RequestGuard {
  readonly controller = new AbortController()
  /** why the request was stopped (the first reason wins) */
  why: StopReason | undefined
  #timer: ReturnType<typeof setTimeout> | undefined
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

  /** (re)starts the one timer: when it fires, the request stops for `why` */
  arm(why: StopReason, ms: number): void {
    this.pause()
    this.#timer = setTimeout(() => this.stop(why), ms)
  }

  pause(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
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
    this.#user?.removeEventListener('abort', this.#onUser)
    if (!completed && !this.signal.aborted) this.stop('dispose')
  }
}
