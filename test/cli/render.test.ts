import { describe, expect, it } from '@jest/globals'
import type { RunEvent } from '../../src/engine/events.js'
import { liveRenderer } from '../../src/cli/render/live.js'
import { plainRenderer } from '../../src/cli/render/plain.js'
import { jsonRenderer } from '../../src/cli/render/json.js'
import { finalRenderer } from '../../src/cli/render/final.js'
import { safeText } from '../../src/cli/render/format.js'

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
const ev = (e: Record<string, unknown>) => ({ ...base, ...e }) as unknown as RunEvent

describe('terminal renderers', () => {
  it('live: a spinner until the first token, labelled stages with confidence, committed text at the end', () => {
    const out = sink()
    const err = sink()
    const r = liveRenderer(out, err, { columns: 60, color: false })
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
      '▸ qd (r_1)\n[quick] started on m\n[quick] one line\n[quick] two lines\n[quick] done · 3 tokens · confidence 0.90 (logprobs) · 10 ms\n',
    )
    expect(err.text).toBe('✗ [deep] RUNTIME_UNREACHABLE: Cannot reach Ollama at 127.0.0.1:1\n')
  })

  it('one cause that fails every stage alike is printed once, in every terminal mode', () => {
    const down = { type: 'error', code: 'RUNTIME_UNREACHABLE', message: 'Cannot reach Ollama at 127.0.0.1:1' }
    for (const make of [
      (err: ReturnType<typeof sink>) => plainRenderer(sink(), err),
      (err: ReturnType<typeof sink>) => liveRenderer(sink(), err, { columns: 60, color: false }),
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
    expect(out.text).not.toMatch(/\x1b/)
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
