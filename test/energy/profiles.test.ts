import { describe, expect, it } from '@jest/globals'
import { mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { MiradorError } from '../../src/engine/errors.js'
import { loadProfiles, selectProfile, type Profile } from '../../src/plugins/energy/profiles.js'
import { ROOT } from '../support/cli.js'

const shipped = path.join(ROOT, 'profiles')

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirador-profiles-'))
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text)
  return dir
}

describe('shipped profiles', () => {
  it('load and validate: performance, balanced, survival', async () => {
    const { profiles, errors } = await loadProfiles([shipped])
    expect(errors).toEqual([])
    expect(profiles.map((p) => p.name).sort()).toEqual(['balanced', 'performance', 'survival'])
  })
})

describe('selectProfile over battery readings', () => {
  // percent, plugged, hasBattery, pinned → expected profile
  const table: [number, boolean, boolean, string | undefined, string | null][] = [
    [100, true, false, undefined, 'performance'], // no battery counts as plugged in
    [100, true, true, undefined, 'performance'],
    [15, true, true, undefined, 'performance'], // low but charging: full chains
    [0, true, true, undefined, 'performance'],
    [100, false, true, undefined, 'balanced'],
    [50, false, true, undefined, 'balanced'],
    [20, false, true, undefined, 'balanced'], // exactly 20 %: not below 20
    [19.9, false, true, undefined, 'survival'],
    [19, false, true, undefined, 'survival'],
    [5, false, true, undefined, 'survival'],
    [0, false, true, undefined, 'survival'],
    [90, true, true, 'survival', 'survival'], // pinned wins over the reading
    [5, false, true, 'performance', 'performance'],
    [100, true, false, 'balanced', 'balanced'],
  ]
  it.each(table)(
    '%d %%, plugged %s, battery %s, pinned %s → %s',
    async (percent, plugged, hasBattery, pinned, expected) => {
      const { profiles } = await loadProfiles([shipped])
      const s = selectProfile(profiles, { percent, plugged, hasBattery }, pinned ? { name: pinned } : undefined)
      expect(s.profile?.name ?? null).toBe(expected)
      expect(s.pinned).toBe(pinned !== undefined)
      expect(s.reason).toMatch(hasBattery ? /battery \d+ %/ : /no battery/)
    },
  )

  it('no profile matches → none (the chain runs as written)', () => {
    const only: Profile[] = [{ name: 'low', file: 'x', when: { battery_below: 10 } }]
    const s = selectProfile(only, { percent: 50, plugged: false, hasBattery: true })
    expect(s.profile).toBeUndefined()
    expect(s.reason).toMatch(/no profile matches/)
  })

  it('a profile without `when` applies only when pinned', () => {
    const ps: Profile[] = [{ name: 'manual', file: 'x', priority: 999 }]
    expect(selectProfile(ps, { percent: 50, plugged: false, hasBattery: true }).profile).toBeUndefined()
    expect(selectProfile(ps, { percent: 50, plugged: false, hasBattery: true }, { name: 'manual' }).profile?.name).toBe(
      'manual',
    )
  })

  it('highest priority first; ties by name', () => {
    const ps: Profile[] = [
      { name: 'b', file: 'x', priority: 5, when: { plugged: false } },
      { name: 'a', file: 'x', priority: 5, when: { plugged: false } },
      { name: 'low', file: 'x', priority: 1, when: { plugged: false } },
    ]
    expect(selectProfile(ps, { percent: 50, plugged: false, hasBattery: true }).profile?.name).toBe('a')
  })

  it('battery_above and battery_below together make a band', () => {
    const ps: Profile[] = [{ name: 'mid', file: 'x', when: { battery_above: 20, battery_below: 60 } }]
    const at = (percent: number) =>
      selectProfile(ps, { percent, plugged: false, hasBattery: true }).profile?.name ?? null
    expect([10, 20, 21, 59, 60, 90].map(at)).toEqual([null, null, 'mid', 'mid', null, null])
  })

  it('an unknown pinned name is a USAGE error listing the profiles', async () => {
    const { profiles } = await loadProfiles([shipped])
    let err: unknown
    try {
      selectProfile(
        profiles,
        { percent: 50, plugged: false, hasBattery: true },
        { name: 'turbo', from: 'MIRADOR_PROFILE' },
      )
    } catch (e) {
      err = e
    }
    expect(MiradorError.is(err, 'USAGE')).toBe(true)
    expect((err as Error).message).toMatch(
      /no energy profile named "turbo" \(MIRADOR_PROFILE\)\. Profiles: balanced, performance, survival/,
    )
  })
})

describe('loading profiles', () => {
  it('an earlier folder shadows a later one by name', async () => {
    const project = dirWith({ 'survival.yaml': 'when: { battery_below: 50 }\npriority: 30\n' })
    const { profiles } = await loadProfiles([project, shipped])
    const survival = profiles.find((p) => p.name === 'survival')!
    expect(survival.file).toBe(path.join(project, 'survival.yaml'))
    expect(survival.when).toEqual({ battery_below: 50 })
    expect(profiles.filter((p) => p.name === 'survival')).toHaveLength(1)
  })

  it('a missing folder has no profiles', async () => {
    expect(await loadProfiles([path.join(os.tmpdir(), 'no-such-mirador-dir-xyz')])).toEqual({
      profiles: [],
      errors: [],
    })
  })

  it.each([
    ['unknown key', 'priority: 5\nturbo: true\n', 2, 1],
    ['wrong type', 'when:\n  plugged: maybe\n', 2, 12],
    ['out of range', 'when:\n  battery_below: 150\n', 2, 18],
    ['bad keep_alive', 'keep_alive: soon\n', 1, 13],
    ['bad memory value', 'memory: sometimes\n', 1, 9],
    ['YAML syntax (unclosed list)', 'when: [\n', 2, 0],
  ])('rejects %s with file:line:column', async (_what, text, line, column) => {
    const dir = dirWith({ 'broken.yaml': text, 'fine.yaml': 'when: { plugged: true }\n' })
    const { profiles, errors } = await loadProfiles([dir])
    expect(profiles.map((p) => p.name)).toEqual(['fine']) // the others still load
    expect(errors).toHaveLength(1)
    const e = errors[0]!
    expect(e.location?.file).toBe(path.join(dir, 'broken.yaml'))
    expect(e.location?.line).toBe(line)
    if (column > 0) expect(e.location?.column).toBe(column)
    expect(e.format()).toMatch(new RegExp(`broken\\.yaml:${line}:\\d+: `))
  })

  it('a file name that is not a valid profile name needs a name: key', async () => {
    const dir = dirWith({ 'Bad Name.yaml': 'when: { plugged: true }\n' })
    const { errors } = await loadProfiles([dir])
    expect(errors[0]?.format()).toMatch(/Bad Name\.yaml:1:1: .*name: key/)
  })
})
