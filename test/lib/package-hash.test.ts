import { describe, expect, it } from '@jest/globals'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { hashPackage } from '../../src/lib/package-hash.js'

function pkg(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirador-hash-'))
  mkdirSync(path.join(dir, 'lib'))
  writeFileSync(path.join(dir, 'package.json'), '{}')
  writeFileSync(path.join(dir, 'lib', 'a.js'), 'export default 1\n')
  return dir
}

describe('hashPackage', () => {
  it('is stable, and changes with a changed, added, renamed or removed file', async () => {
    const dir = pkg()
    const first = await hashPackage(dir)
    expect(first.hash).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(Object.keys(first.files)).toEqual(['lib/a.js', 'package.json'])
    expect((await hashPackage(dir)).hash).toBe(first.hash)
    const seen = new Set([first.hash])
    const step = async (change: () => void) => {
      change()
      const h = (await hashPackage(dir)).hash
      expect(seen.has(h)).toBe(false)
      seen.add(h)
    }
    await step(() => writeFileSync(path.join(dir, 'lib', 'a.js'), 'export default 2\n'))
    await step(() => writeFileSync(path.join(dir, 'lib', 'b.js'), ''))
    await step(() => {
      rmSync(path.join(dir, 'lib', 'b.js'))
      writeFileSync(path.join(dir, 'lib', 'c.js'), '')
    })
    await step(() => rmSync(path.join(dir, 'lib', 'a.js')))
    await step(() => writeFileSync(path.join(dir, 'lib', '.hidden.js'), ''))
  })

  it('hashes a link by where it points, leaves .git and excluded folders out', async () => {
    const dir = pkg()
    const outside = pkg()
    mkdirSync(path.join(dir, 'node_modules'))
    symlinkSync(outside, path.join(dir, 'node_modules', 'dep'), 'dir')
    const before = await hashPackage(dir, [path.join(dir, 'home')])
    expect(Object.keys(before.files)).toContain('node_modules/dep')
    writeFileSync(path.join(outside, 'lib', 'a.js'), 'changed')
    mkdirSync(path.join(dir, '.git'))
    writeFileSync(path.join(dir, '.git', 'HEAD'), 'x')
    mkdirSync(path.join(dir, 'home'))
    writeFileSync(path.join(dir, 'home', 'cache'), 'x')
    expect((await hashPackage(dir, [path.join(dir, 'home')])).hash).toBe(before.hash)
  })
})
