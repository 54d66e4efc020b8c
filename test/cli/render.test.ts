import { describe, expect, it } from '@jest/globals'
import type { RunEvent } from '../../src/engine/events.js'
import { liveRenderer } from '../../src/cli/render/live.js'
import { plainRenderer } from '../../src/cli/render/plain.js'
import { jsonRenderer } from '../../src/cli/render/json.js'
import { finalRenderer } from '../../src/cli/render/final.js'
import { safeText } from '../../src/cli/render/format.js'
import { Screen } from '../support/screen.js'

function sink() {
  const out = {
    text: '',
    write(s: string) {
      out.text += s
      return true
    },
  }
  return out
}

const base = { runId: 'r_1', t: 0 }
const ev = <E extends { type: string }>(e: E): RunEvent => ({ ...base, ...e })

describe('terminal renderers', () => {
  it('live: a spinner until the first token, labelled stages with confidence, committed text at the end', () => {
    const out = sink()
    const err = sink()
    const r = liveRenderer(out, err, { columns: 100, color: false })
    r.event(ev({ type: 'ack', chain: 'qd' }))
    r.event(ev({ type: 'stage-start', stage: 'quick', model: 'llama3.2:1b' }))
    expect(out.text).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] quick llama3\.2:1b · waiting for the first token/)
    r.event(ev({ type: 'stage-start', stage: 'deep', model: 'qwen2.5:7b' }))
    r.event(ev({ type: 'token', stage: 'quick', text: 'Hello', confidence: 0.5 }))
    r.event(ev({ type: 'token', stage: 'quick', text: ' world', confidence: 0.5 }))
    r.event(ev({ type: 'stage-skip', stage: 'deep', reason: 'quick was sure' })) // forces a redraw
    expect(out.text).toMatch(/▸ quick llama3\.2:1b · 2 tokens · confidence 0\.50/)
    expect(out.text).toContain('  Hello world')
    expect(out.text).toContain('□ deep skipped: quick was sure')
    r.event(
      ev({
        type: 'stage-end',
        stage: 'quick',
        model: 'llama3.2:1b',
        tokens: 2,
        confidence: 0.5,
        confidenceSource: 'logprobs',
        ms: 1200,
      }),
    )
    expect(out.text).toMatch(/■ quick llama3\.2:1b · 2 tokens · confidence 0\.50 · 1\.2 s\nHello world\n/)
    expect(out.text).toContain('\x1b[0J') // the live region is redrawn in place
    r.event(
      ev({
        type: 'done',
        answer: 'Hello world',
        stage: 'quick',
        confidence: 0.5,
        models: ['llama3.2:1b'],
        tokens: 2,
        ms: 1300,
        ok: true,
      }),
    )
    r.close()
    // eslint-disable-next-line no-control-regex -- removes the terminal's escape sequences to read the screen text
    const screen = out.text.replace(/\x1b\[[0-9;]*[A-Za-z]|\r/g, '')
    expect(screen.trimEnd().split('\n').at(-1)).toBe(
      '✓ answer from quick (confidence 0.50) · models llama3.2:1b · 2 tokens · 1.3 s',
    )
    expect(err.text).toBe('')
  })

  it('plain: labelled lines, no escape codes, errors on stderr', () => {
    const out = sink()
    const err = sink()
    const r = plainRenderer(out, err)
    r.event(ev({ type: 'ack', chain: 'qd' }))
    r.event(ev({ type: 'stage-start', stage: 'quick', model: 'm' }))
    for (const t of ['one', ' line\ntwo', ' lines'])
      r.event(ev({ type: 'token', stage: 'quick', text: t, confidence: 0.9 }))
    r.event(
      ev({ type: 'error', stage: 'deep', code: 'RUNTIME_UNREACHABLE', message: 'Cannot reach Ollama at 127.0.0.1:1' }),
    )
    r.event(
      ev({
        type: 'stage-end',
        stage: 'quick',
        model: 'm',
        tokens: 3,
        confidence: 0.9,
        confidenceSource: 'logprobs',
        ms: 10,
      }),
    )
    r.close()
    expect(out.text).toBe(
      '▸ qd (r_1)\n[quick] started on m\n[quick] one line\n[quick] two lines\n' +
        '[quick] done · 3 tokens · confidence 0.90 (logprobs) · 10 ms\n',
    )
    expect(err.text).toBe('✗ [deep] RUNTIME_UNREACHABLE: Cannot reach Ollama at 127.0.0.1:1\n')
  })

  it('one cause that fails every stage alike is printed once, in every terminal mode', () => {
    const down = { type: 'error', code: 'RUNTIME_UNREACHABLE', message: 'Cannot reach Ollama at 127.0.0.1:1' }
    for (const make of [
      (err: ReturnType<typeof sink>) => plainRenderer(sink(), err),
      (err: ReturnType<typeof sink>) => liveRenderer(sink(), err, { columns: 100, color: false }),
      (err: ReturnType<typeof sink>) => finalRenderer(sink(), err),
    ]) {
      const err = sink()
      const r = make(err)
      r.event(ev({ ...down, stage: 'quick' }))
      r.event(ev({ ...down, stage: 'deep' }))
      r.event(ev({ ...down, stage: 'deep', code: 'RUNTIME_TIMEOUT' }))
      r.close()
      expect(err.text.match(/RUNTIME_UNREACHABLE/g)).toHaveLength(1)
      expect(err.text).toMatch(/quick.*RUNTIME_UNREACHABLE: Cannot reach Ollama at 127\.0\.0\.1:1\n/)
      expect(err.text).toMatch(/RUNTIME_TIMEOUT/)
    }
  })

  it('model output cannot drive the terminal: control and bidi characters are escaped', () => {
    expect(safeText('ok\x1b[2J\x07\u202eevil\nnext\tcol')).toBe('ok\\u001b[2J\\u0007\\u202eevil\nnext\tcol')
    const out = sink()
    const r = plainRenderer(out, sink())
    r.event(ev({ type: 'token', stage: 's', text: 'x\x1b]0;pwned\x07\n', confidence: 1 }))
    r.close()
    expect(out.text).toBe('[s] x\\u001b]0;pwned\\u0007\n')
  })

  it("plain and json: a turn's output goes out in one write, stdout before stderr", async () => {
    const writes: string[] = []
    const out = { write: (s: string) => writes.push(s) }
    const errors: string[] = []
    const r = plainRenderer(out, { write: (s: string) => errors.push(`after ${writes.length} writes: ${s}`) })
    r.event(ev({ type: 'stage-start', stage: 's', model: 'm' }))
    for (let i = 0; i < 50; i++)
      r.event(ev({ type: 'token', stage: 's', text: `w${i}${i % 5 === 4 ? '\n' : ' '}`, confidence: 1 }))
    expect(writes).toEqual([])
    await new Promise((resolve) => setImmediate(resolve))
    expect(writes).toHaveLength(1)
    expect(writes[0]!.split('\n')).toHaveLength(12) // the start line, ten text lines, and the end
    r.event(ev({ type: 'token', stage: 's', text: 'last\n', confidence: 1 }))
    r.event(ev({ type: 'error', code: 'RUNTIME_FAILED', message: 'gone' }))
    expect(writes.at(-1)).toBe('[s] last\n')
    expect(errors).toEqual(['after 2 writes: ✗ RUNTIME_FAILED: gone\n'])

    const lines: string[] = []
    const j = jsonRenderer({ write: (s: string) => lines.push(s) })
    for (let i = 0; i < 50; i++) j.event(ev({ type: 'token', stage: 's', text: `w${i}`, confidence: 1 }))
    await new Promise((resolve) => setImmediate(resolve))
    expect(lines).toHaveLength(1)
    expect(lines[0]!.trim().split('\n')).toHaveLength(50)
  })

  it('live: each redraw is one write, and only the tail of a long text is wrapped', () => {
    const writes: string[] = []
    const r = liveRenderer({ write: (s: string) => writes.push(s) }, sink(), { columns: 40, color: false })
    r.event(ev({ type: 'stage-start', stage: 's', model: 'm' }))
    for (let i = 0; i < 1000; i++) r.event(ev({ type: 'token', stage: 's', text: `${i}\n`, confidence: 1 }))
    const before = writes.length
    r.event(ev({ type: 'stage-skip', stage: 'other', reason: 'not needed' }))
    expect(writes).toHaveLength(before + 1)
    // erase the region (one line: tokens wait for the next frame), print the line above it, draw the region again
    // erase the region, print the line above it, draw the region again: the tail of the text only
    const last = writes.at(-1)!
    expect(last).toContain('□ other skipped: not needed\n')
    expect(last).toMatch(/▸ s m · 1000 tokens/)
    expect(last).toMatch(/999\n/)
    expect(last).not.toMatch(/\b990\b/)
    r.close()
  })

  it('json: one parseable line per event, in order, flushed by done', () => {
    const out = sink()
    const r = jsonRenderer(out)
    r.event(ev({ type: 'ack', chain: 'qd' }))
    r.event(ev({ type: 'token', stage: 's', text: '"quoted"\n', confidence: 1 }))
    r.event(ev({ type: 'done', answer: '', stage: null, confidence: 0, models: [], tokens: 1, ms: 1, ok: false }))
    expect(
      out.text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).type),
    ).toEqual(['ack', 'token', 'done'])
  })
})

/** stdout and stderr of one terminal: both draw on the same screen, and each keeps what it was sent */
function terminal() {
  const screen = new Screen()
  const stream = () => {
    const s = {
      text: '',
      write(chunk: string) {
        s.text += chunk
        return screen.write(chunk)
      },
    }
    return s
  }
  return { screen, out: stream(), err: stream() }
}

const start = (stage: string, model = 'm') => ev({ type: 'stage-start', stage, model })
const token = (stage: string, text: string) => ev({ type: 'token', stage, text, confidence: 0.5 })
const end = (stage: string, tokens: number) =>
  ev({ type: 'stage-end', stage, model: 'm', tokens, confidence: 0.5, confidenceSource: 'logprobs', ms: 10 })
const done = (ok: boolean) =>
  ev({ type: 'done', answer: '', stage: ok ? 'a' : null, confidence: 0, models: [], tokens: 0, ms: 5, ok })
/** forces a redraw of the live region now (tokens wait for the next frame) */
const redraw = () => ev({ type: 'status', message: 'working' })

const EVIL = 'x\x1b]0;pwned\x07\x1b[2J\u202eevil\x9b1A'
/** EVIL as it appears, escaped, inside a JSON string */
const EVIL_IN_JSON = safeText(JSON.stringify(EVIL).slice(1, -1))

describe('live renderer: layout', () => {
  const text = 'The quick brown fox jumps over the lazy dog and keeps running'

  it('draws concurrently running stages side by side when the terminal is wide enough', () => {
    const { screen, out, err } = terminal()
    const r = liveRenderer(out, err, { columns: 100, rows: 40, color: false })
    r.event(start('quick'))
    r.event(start('deep'))
    r.event(token('quick', text))
    r.event(token('deep', 'Deep thoughts arrive slowly'))
    r.event(redraw())
    const rows = screen.text().split('\n')
    const head = rows.find((l) => l.includes('quick'))!
    expect(head).toMatch(/▸ quick m · 1 tokens.*│ ▸ deep m · 1 tokens/)
    const body = rows.slice(rows.indexOf(head) + 1)
    // 98 usable columns: two of 47, 3 apart
    expect(body[0]).toBe('The quick brown fox jumps over the lazy dog and │ Deep thoughts arrive slowly')
    expect(body[1]).toBe('keeps running                                   │')
    expect(screen.widest).toBeLessThanOrEqual(98)
    // each ended stage's whole text goes above the region for good
    r.event(end('quick', 1))
    r.event(end('deep', 1))
    r.close()
    expect(screen.text()).toBe(
      [
        '■ quick m · 1 tokens · confidence 0.50 · 10 ms',
        text,
        '■ deep m · 1 tokens · confidence 0.50 · 10 ms',
        'Deep thoughts arrive slowly',
      ].join('\n'),
    )
  })

  it('stacks the stages when columns would be too narrow, wrapping at word boundaries', () => {
    const { screen, out, err } = terminal()
    const r = liveRenderer(out, err, { columns: 40, rows: 40, color: false })
    r.event(start('quick'))
    r.event(start('deep'))
    r.event(token('quick', text))
    r.event(redraw())
    expect(screen.text()).toBe(
      [
        '▸ quick m · 1 tokens · confidence 0.50',
        '  The quick brown fox jumps over the',
        '  lazy dog and keeps running',
        '⠋ deep m · waiting for the first token',
      ].join('\n'),
    )
    expect(screen.widest).toBeLessThanOrEqual(38)
    // the text printed for good when the stage ends is wrapped the same way
    r.event(end('quick', 1))
    r.close()
    expect(screen.text()).toBe(
      '■ quick m · 1 tokens · confidence 0.50\n· 10 ms\nThe quick brown fox jumps over the\nlazy dog and keeps running',
    )
  })

  it('keeps the region within the screen height', () => {
    const { screen, out, err } = terminal()
    const r = liveRenderer(out, err, { columns: 40, rows: 5, color: false })
    r.event(start('a'))
    r.event(token('a', 'one\ntwo\nthree\nfour\nfive\nsix\nseven'))
    r.event(redraw())
    expect(screen.text().split('\n').length).toBeLessThanOrEqual(3)
    r.close()
  })
})

describe('live renderer: an interrupted run keeps what was streamed', () => {
  it('Ctrl-C: the partial text of each running stage stays on screen, then the error (once) and the summary', () => {
    const { screen, out, err } = terminal()
    const r = liveRenderer(out, err, { columns: 80, rows: 40, color: false })
    r.event(ev({ type: 'ack', chain: 'qd' }))
    r.event(ev({ type: 'plan', chain: 'qd', stages: [], concurrency: 2 }))
    r.event(start('quick'))
    r.event(start('deep'))
    r.event(token('quick', 'Partial quick answer'))
    r.event(token('deep', 'Partial deep'))
    r.event(ev({ type: 'error', stage: 'quick', code: 'ABORTED', message: 'the run was cancelled' }))
    r.event(ev({ type: 'error', stage: 'deep', code: 'ABORTED', message: 'the run was cancelled' }))
    r.event(done(false))
    r.close()
    expect(screen.text()).toBe(
      [
        '▸ qd · r_1',
        '■ quick m · 1 tokens · interrupted',
        'Partial quick answer',
        '✗ [quick] ABORTED: the run was cancelled',
        '■ deep m · 1 tokens · interrupted',
        'Partial deep',
        '✗ no stage produced an answer · no model ran · 0 tokens · 5 ms',
      ].join('\n'),
    )
    expect(err.text).toContain('ABORTED')
    expect(out.text).not.toContain('ABORTED')
  })

  it('close() without the stages ending keeps their text too', () => {
    const { screen, out, err } = terminal()
    const r = liveRenderer(out, err, { columns: 80, rows: 40, color: false })
    r.event(start('only'))
    r.event(token('only', 'half an answer'))
    r.close()
    expect(screen.text()).toBe('■ only m · 1 tokens · stopped\nhalf an answer')
  })
})

describe('renderers: log events, foreign writes, unknown events, prompts', () => {
  const info = ev({ type: 'log', level: 'info', message: 'index rebuilt', plugin: 'DocsPlugin' })
  const warn = ev({ type: 'log', level: 'warn', message: 'quota low', plugin: 'DocsPlugin', stage: 'quick' })
  const custom = ev({ type: 'timestamp', stage: 'quick', iso: '2026-01-01', note: EVIL })
  const prompt = ev({ type: 'prompt', stage: 'quick', text: 'Briefly: hi\nthere', system: 'Be terse.' })

  it('live: log lines are printed above the region (warnings on stderr) and the region survives', () => {
    const { screen, out, err } = terminal()
    const r = liveRenderer(out, err, { columns: 80, rows: 40, color: false })
    r.event(start('quick'))
    r.event(token('quick', 'streaming'))
    r.event(info)
    r.event(warn)
    expect(screen.text().split('\n')).toEqual([
      '  DocsPlugin: index rebuilt',
      '! DocsPlugin [quick]: warning: quota low',
      '▸ quick m · 1 tokens · confidence 0.50',
      '  streaming',
    ])
    expect(err.text).toContain('quota low')
    expect(err.text).not.toContain('index rebuilt')
    r.close()
  })

  it('live: a plugin writing straight to stderr (console.error) lands above the region, not inside it', () => {
    const { screen, out, err } = terminal()
    const r = liveRenderer(out, err, { columns: 80, rows: 40, color: false })
    r.event(start('quick'))
    r.event(token('quick', 'streaming'))
    r.event(redraw())
    err.write('plugin noise\n')
    err.write('partial line')
    out.write('console.log from a plugin\n')
    const rows = screen.text().split('\n')
    expect(rows).toEqual([
      'plugin noise',
      'partial line',
      'console.log from a plugin',
      '▸ quick m · 1 tokens · confidence 0.50',
      '  streaming',
    ])
    r.close()
    // once closed, writes go straight through again
    const before = err.text
    err.write('after\n')
    expect(err.text).toBe(before + 'after\n')
    expect(screen.text().split('\n').at(-1)).toBe('after')
  })

  it('live: --show-prompt prints the filled prompt above the region', () => {
    const { screen, out, err } = terminal()
    const r = liveRenderer(out, err, { columns: 80, rows: 40, color: false })
    r.event(prompt)
    r.close()
    expect(screen.text()).toBe('▹ quick prompt\n  system: Be terse.\n  Briefly: hi\n  there')
  })

  it('live: --debug shows an unknown event as one line, escaped; without it nothing', () => {
    for (const debug of [true, false]) {
      const { screen, out, err } = terminal()
      const r = liveRenderer(out, err, { columns: 200, rows: 40, color: false, debug })
      r.event(custom)
      r.close()
      if (debug)
        expect(screen.text()).toBe(`timestamp {"t":0,"stage":"quick","iso":"2026-01-01","note":"${EVIL_IN_JSON}"}`)
      else expect(screen.text()).toBe('')
      for (const c of ['\x07', '\u202e', '\x9b', '\x1b]']) expect(out.text).not.toContain(c)
    }
  })

  it('plain: [log] lines (warnings on stderr), prompts labelled, unknown events with --debug', () => {
    const out = sink()
    const err = sink()
    const r = plainRenderer(out, err, { debug: true })
    r.event(info)
    r.event(warn)
    r.event(prompt)
    r.event(custom)
    r.close()
    expect(out.text).toBe(
      [
        '[log] DocsPlugin: index rebuilt',
        '[quick system] Be terse.',
        '[quick prompt] Briefly: hi',
        '[quick prompt] there',
        `[event] timestamp {"t":0,"stage":"quick","iso":"2026-01-01","note":"${EVIL_IN_JSON}"}`,
        '',
      ].join('\n'),
    )
    expect(err.text).toBe('[log] DocsPlugin [quick]: warning: quota low\n')
    const quiet = sink()
    const q = plainRenderer(quiet, sink())
    q.event(custom)
    expect(quiet.text).toBe('')
  })

  it('--no-stream: only warnings, prompts and (with --debug) unknown events, all on stderr', () => {
    const out = sink()
    const err = sink()
    const r = finalRenderer(out, err, { debug: true })
    for (const e of [info, warn, prompt, custom]) r.event(e)
    r.event(
      ev({ type: 'done', answer: 'The answer', stage: 'a', confidence: 1, models: [], tokens: 1, ms: 1, ok: true }),
    )
    expect(out.text).toBe('The answer\n')
    expect(err.text).toMatch(/^\[log\] DocsPlugin \[quick\]: warning: quota low\n\[quick system\] Be terse\.\n/)
    expect(err.text).toContain('[quick prompt] there\n[event] timestamp {')
    expect(err.text).not.toContain('index rebuilt')
  })

  it('json: log, prompt and unknown events go out as they are', () => {
    const out = sink()
    const r = jsonRenderer(out)
    for (const e of [info, warn, prompt, custom]) r.event(e)
    r.close()
    expect(
      out.text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([info, warn, prompt, custom])
  })
})

describe('renderers escape every string that comes from YAML or a model', () => {
  const events = [
    ev({ type: 'ack', chain: `qd${EVIL}` }),
    ev({ type: 'plan', chain: 'qd', stages: [], concurrency: 1, text: `ack ${EVIL}` }),
    ev({ type: 'stage-start', stage: `s${EVIL}`, model: `m${EVIL}` }),
    ev({ type: 'token', stage: `s${EVIL}`, text: `t${EVIL}`, confidence: 0.5 }),
    ev({ type: 'model-pull', model: `m${EVIL}`, status: `pulling ${EVIL}` }),
    ev({ type: 'log', level: 'warn', message: EVIL, plugin: EVIL }),
    ev({ type: 'prompt', stage: 's', text: EVIL, system: EVIL }),
    ev({ type: 'status', message: EVIL }),
    ev({ type: 'model-load', model: EVIL, ms: 5 }),
    ev({ type: 'stage-skip', stage: `s2${EVIL}`, reason: EVIL }),
    ev({ type: 'error', stage: `s${EVIL}`, code: 'RUNTIME_FAILED', message: EVIL }),
    ev({ type: 'error', plugin: EVIL, code: 'PLUGIN_FAILED', message: EVIL }),
    ev({ type: 'stage-end', stage: EVIL, model: EVIL, tokens: 1, confidence: 1, confidenceSource: 'declared', ms: 1 }),
    ev({ type: 'done', answer: EVIL, stage: EVIL, confidence: 1, models: [EVIL], tokens: 1, ms: 1, ok: true }),
  ]
  // the cursor movements the live renderer itself writes, and nothing else
  // eslint-disable-next-line no-control-regex -- the cursor movements the live renderer itself writes
  const ownControls = /\x1b\[\d*A|\r|\x1b\[0J/g
  // eslint-disable-next-line no-control-regex -- what must not reach the terminal
  const raw = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/

  it('live, plain and --no-stream', () => {
    const { out, err } = terminal()
    const live = liveRenderer(out, err, { columns: 200, rows: 40, color: false })
    const plain = { out: sink(), err: sink() }
    const final = { out: sink(), err: sink() }
    const renderers = [live, plainRenderer(plain.out, plain.err), finalRenderer(final.out, final.err)]
    for (const e of events) for (const r of renderers) r.event(e)
    for (const r of renderers) r.close()
    for (const text of [out.text, err.text, plain.out.text, plain.err.text, final.out.text, final.err.text]) {
      expect(text).toContain('\\u001b]0;pwned\\u0007')
      expect(text.replace(ownControls, '')).not.toMatch(raw)
    }
  })
})
