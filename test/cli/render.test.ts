import { describe, expect, it } from '@jest/globals'
import type { RunEvent } from '../../src/engine/events.js'
import { liveRenderer, tailRows } from '../../src/cli/render/live.js'
import { plainRenderer } from '../../src/cli/render/plain.js'
import { jsonRenderer } from '../../src/cli/render/json.js'
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
    const r = liveRenderer({ write: (s: string) => writes.push(s) }, sink(), { columns: 12, color: false })
    r.event(ev({ type: 'stage-start', stage: 's', model: 'm' }))
    for (let i = 0; i < 1000; i++) r.event(ev({ type: 'token', stage: 's', text: `${i}\n`, confidence: 1 }))
    const before = writes.length
    r.event(ev({ type: 'stage-skip', stage: 'other', reason: 'not needed' }))
    expect(writes).toHaveLength(before + 1)
    // erase the region (one line: tokens wait for the next frame), print the line above it, draw the region again
    expect(writes.at(-1)!.startsWith('\x1b[1A\r\x1b[0J□ other skipped: not needed\n▸ s m · 1000 tokens')).toBe(true)
    expect(writes.at(-1)!.endsWith('  995\n  996\n  997\n  998\n  999\n  \n')).toBe(true)
    r.close()
    expect(tailRows('abcdefg\n\nxy', 3, 4)).toEqual(['def', 'g', '', 'xy'])
    expect(tailRows('abcdefg', 3, 2)).toEqual(['def', 'g'])
    expect(tailRows('ab\n', 3, 5)).toEqual(['ab', ''])
    expect(tailRows('', 3, 2)).toEqual([''])
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
