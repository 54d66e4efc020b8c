import { beforeEach, describe, expect, it } from '@jest/globals'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { MiradorError } from '../../src/engine/errors.js'
import {
  BATTERY_CACHE_MS,
  parseBatteryEnv,
  probeSysfs,
  readBattery,
  resetBatteryCache,
} from '../../src/plugins/energy/battery.js'

beforeEach(() => resetBatteryCache())

describe('MIRADOR_BATTERY', () => {
  it.each([
    ['15,unplugged', { percent: 15, plugged: false, hasBattery: true }],
    ['80,plugged', { percent: 80, plugged: true, hasBattery: true }],
    ['80, plugged', { percent: 80, plugged: true, hasBattery: true }],
    ['42', { percent: 42, plugged: false, hasBattery: true }],
    ['19.5%,unplugged', { percent: 19.5, plugged: false, hasBattery: true }],
    ['0,unplugged', { percent: 0, plugged: false, hasBattery: true }],
    ['100,PLUGGED', { percent: 100, plugged: true, hasBattery: true }],
    ['none', { percent: 100, plugged: true, hasBattery: false }],
  ])('%s', (value, expected) => {
    expect(parseBatteryEnv(value)).toEqual({ ...expected, source: 'env' })
  })

  it.each(['abc', '101,plugged', '-5', '50,sideways', '50,,plugged', ''])(
    'refuses %j with a USAGE error saying how to write it',
    (value) => {
      let err: unknown
      try {
        parseBatteryEnv(value)
      } catch (e) {
        err = e
      }
      expect(MiradorError.is(err, 'USAGE')).toBe(true)
      expect((err as Error).message).toMatch(/PERCENT,plugged or PERCENT,unplugged/)
    },
  )

  it('wins over the hardware and is never cached', async () => {
    let probes = 0
    const probe = async () => (probes++, { hasBattery: true, percent: 90, acConnected: true, isCharging: false })
    expect(await readBattery({ MIRADOR_BATTERY: '15,unplugged' }, { probe })).toMatchObject({
      percent: 15,
      plugged: false,
    })
    expect(await readBattery({ MIRADOR_BATTERY: '70,plugged' }, { probe })).toMatchObject({
      percent: 70,
      plugged: true,
    })
    expect(probes).toBe(0)
  })
})

describe('readBattery from the hardware', () => {
  it('no battery counts as plugged in at 100 %', async () => {
    const r = await readBattery(
      {},
      { probe: async () => ({ hasBattery: false, percent: 0, acConnected: false, isCharging: false }) },
    )
    expect(r).toEqual({ percent: 100, plugged: true, hasBattery: false, source: 'systeminformation' })
  })

  it('a failing probe counts as no battery', async () => {
    const r = await readBattery({}, { probe: async () => Promise.reject(new Error('no /sys')) })
    expect(r).toMatchObject({ plugged: true, hasBattery: false })
  })

  it('charging counts as plugged', async () => {
    const r = await readBattery(
      {},
      { probe: async () => ({ hasBattery: true, percent: 33, acConnected: false, isCharging: true }) },
    )
    expect(r).toMatchObject({ percent: 33, plugged: true, hasBattery: true })
  })

  it('is cached 30 s in the process and in $MIRADOR_HOME/energy/battery.json', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'mirador-battery-'))
    let t = 1_000_000
    let probes = 0
    const probe = async () => (
      probes++,
      { hasBattery: true, percent: 50 - probes, acConnected: false, isCharging: false }
    )
    const opts = { home, probe, now: () => t }
    expect(await readBattery({}, opts)).toMatchObject({ percent: 49, source: 'systeminformation' })
    t += BATTERY_CACHE_MS - 1
    expect(await readBattery({}, opts)).toMatchObject({ percent: 49, source: 'cache' })
    expect(probes).toBe(1)
    // another process (fresh in-process cache) reads the file
    resetBatteryCache()
    expect(await readBattery({}, opts)).toMatchObject({ percent: 49, source: 'cache' })
    expect(JSON.parse(readFileSync(path.join(home, 'energy', 'battery.json'), 'utf8'))).toMatchObject({
      percent: 49,
      plugged: false,
    })
    t += 2
    expect(await readBattery({}, opts)).toMatchObject({ percent: 48, source: 'systeminformation' })
    expect(probes).toBe(2)
  })

  it('reads the real machine through systeminformation (lazily imported)', async () => {
    const r = await readBattery({})
    expect(r.percent).toBeGreaterThanOrEqual(0)
    expect(r.percent).toBeLessThanOrEqual(100)
    if (!r.hasBattery) expect(r.plugged).toBe(true)
  })
})

describe('Linux power supplies, read without systeminformation', () => {
  /** a /sys/class/power_supply of our own: NAME → { file: content } */
  function sysfs(supplies: Record<string, Record<string, string>>): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mirador-sysfs-'))
    for (const [name, files] of Object.entries(supplies)) {
      mkdirSync(path.join(dir, name))
      for (const [f, text] of Object.entries(files)) writeFileSync(path.join(dir, name, f), `${text}\n`)
    }
    return dir
  }

  it('a laptop on battery: the capacity, not plugged', async () => {
    const dir = sysfs({
      BAT0: { type: 'Battery', capacity: '37', status: 'Discharging' },
      AC: { type: 'Mains', online: '0' },
    })
    expect(await probeSysfs(dir)).toEqual({ hasBattery: true, percent: 37, acConnected: false, isCharging: false })
  })

  it('plugged in and charging', async () => {
    const dir = sysfs({
      BAT1: { type: 'Battery', capacity: '80', status: 'Charging' },
      ADP1: { type: 'Mains', online: '1' },
    })
    expect(await probeSysfs(dir)).toMatchObject({ hasBattery: true, percent: 80, acConnected: true })
  })

  it('no battery (a desktop, a server, a container without /sys): plugged in at 100 %', async () => {
    expect(await probeSysfs(sysfs({ AC: { type: 'Mains', online: '1' } }))).toMatchObject({ hasBattery: false })
    expect(await probeSysfs('/nonexistent/power_supply')).toMatchObject({ hasBattery: false, acConnected: true })
  })

  it('readBattery on this Linux machine takes the direct path', async () => {
    if (process.platform !== 'linux') return
    const r = await readBattery({})
    expect(r.source).toBe('sysfs')
  })
})
