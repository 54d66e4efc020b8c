/**
 * Progress of a long command (an import, a re-index) on standard error, which keeps standard
 * output for the result: on a terminal a bar redrawn in place (at most every 100 ms); otherwise
 * (a log, CI) one plain line per tenth of the way, so a pipe gets a readable record and not a
 * line per batch. With --json nothing is written: the caller passes `quiet`.
 */
import { safeText } from './render/format.js'

export interface Progress {
  /** `done` of `total` units so far */
  update(done: number, total: number): void
  /** draws the last state and ends the bar's line */
  end(): void
}

export interface ProgressOptions {
  /** what is being done, before the bar: "importing" */
  label: string
  /** what is counted, after the numbers: "lines" */
  unit: string
  /** write nothing (--json) */
  quiet?: boolean
  /** default process.stderr */
  out?: { write(text: string): unknown; isTTY?: boolean }
  /** the bar's width in characters (default 24) */
  width?: number
  /** units are bytes: shown in MB, with the rate and the time left (a download) */
  bytes?: boolean
}

const REDRAW_MS = 100

export function progressBar(opts: ProgressOptions): Progress {
  const out = opts.out ?? process.stderr
  const width = opts.width ?? 24
  const tty = out.isTTY === true
  let done = 0
  let total = 0
  let drawnAt = 0
  let tenth = -1
  let drawn = false
  const n = (x: number) => x.toLocaleString('en-US')
  // the rate counts from the first update: bytes already there (a resumed download) are not speed
  let first: { at: number; done: number } | undefined
  const counts = () => {
    if (!opts.bytes) return `(${n(done)}/${n(total)} ${opts.unit})`
    const mb = (x: number) => (x / 1e6).toFixed(1)
    const secs = first ? (performance.now() - first.at) / 1000 : 0
    const rate = first && secs > 0.2 ? (done - first.done) / secs : 0
    const eta = rate > 0 && total > done ? ` · ${Math.ceil((total - done) / rate)} s left` : ''
    return `(${mb(done)}/${mb(total)} MB${rate > 0 ? ` · ${mb(rate)} MB/s` : ''}${eta})`
  }
  const line = () => {
    const frac = total > 0 ? Math.min(1, done / total) : 0
    const filled = Math.round(frac * width)
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`
    return safeText(`${opts.label} ${bar} ${Math.floor(frac * 100)}% ${counts()}`)
  }
  const draw = (force: boolean) => {
    if (opts.quiet) return
    if (tty) {
      const now = Date.now()
      if (!force && now - drawnAt < REDRAW_MS) return
      drawnAt = now
      drawn = true
      out.write(`\r\x1b[2K${line()}`)
      return
    }
    const t = total > 0 ? Math.floor((10 * Math.min(done, total)) / total) : 0
    if (t === tenth && !force) return
    tenth = t
    out.write(`${line()}\n`)
  }
  return {
    update(d, t) {
      first ??= { at: performance.now(), done: d }
      done = d
      total = t
      draw(false)
    },
    end() {
      if (opts.quiet || total === 0) return
      if (tty) {
        draw(true)
        if (drawn) out.write('\n')
      } else if (tenth !== 10) draw(true)
    },
  }
}
