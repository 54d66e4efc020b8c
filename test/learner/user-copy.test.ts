/**
 * A shipped chain's weights go to the user's copy, never into the shipped file; other chain files
 * are rewritten in place.
 */
import { afterAll, describe, expect, it } from '@jest/globals'
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { PACKAGE_ROOT } from '../../src/engine/package-root.js'
import { updateChainWeight } from '../../src/plugins/learner/rewrite.js'
import { isShipped, weightsFile } from '../../src/plugins/learner/user-copy.js'
import { scratch } from '../support/learner-files.js'

const s = scratch('mirador-user-copy-')
afterAll(() => s.cleanup())

const SHIPPED = `# yaml-language-server: $schema=../schemas/chain.schema.json
#
# A shipped chain: its comments must survive in the copy.
name: shipped-one
stages:
  a: { model: m, prompt: "{{query}}" }   # inline comment
`

function setup() {
  const { home, dir } = s.fresh()
  const shipped = path.join(dir, 'shipped')
  mkdirSync(shipped)
  const file = path.join(shipped, 'shipped-one.yaml')
  writeFileSync(file, SHIPPED)
  chmodSync(file, 0o444) // as inside an installed package: not writable
  return { home, dir, shipped, file }
}

describe('weightsFile', () => {
  it('copies a shipped chain into $MIRADOR_HOME/chains on the first rating, then rates the copy', async () => {
    const { home, shipped, file } = setup()
    const first = await weightsFile(file, 'shipped-one', home, shipped)
    const copy = path.join(home, 'chains', 'shipped-one.yaml')
    expect(first).toEqual({ file: copy, copied: true })
    const schema = path.join(PACKAGE_ROOT, 'schemas', 'chain.schema.json')
    expect(readFileSync(copy, 'utf8')).toBe(SHIPPED.replace('../schemas/chain.schema.json', schema))
    await updateChainWeight(copy, 'general', () => 0.7, { home })
    // the next rating finds the copy, with its weight
    expect(await weightsFile(file, 'shipped-one', home, shipped)).toEqual({ file: copy, copied: false })
    const text = readFileSync(copy, 'utf8')
    expect(text).toContain('# A shipped chain: its comments must survive in the copy.')
    expect(text).toContain('# inline comment')
    expect(text).toMatch(/weights:\n {2}general: 0\.7\n$/)
    expect(readFileSync(file, 'utf8')).toBe(SHIPPED)
  })

  it('leaves project chains where they are, and knows a shipped file through a symlink', async () => {
    const { home, dir, shipped, file } = setup()
    const own = path.join(dir, 'mine.yaml')
    writeFileSync(own, SHIPPED)
    expect(await weightsFile(own, 'shipped-one', home, shipped)).toEqual({ file: own, copied: false })
    expect(existsSync(path.join(home, 'chains'))).toBe(false)
    const link = path.join(dir, 'link.yaml')
    symlinkSync(file, link)
    expect(await isShipped(link, shipped)).toBe(true)
    expect(await isShipped(shipped, shipped)).toBe(false)
    // by default, the chains shipped with Mirador
    expect(await isShipped(path.join(PACKAGE_ROOT, 'chains', 'quick-deep.yaml'))).toBe(true)
    expect(await isShipped(own)).toBe(false)
  })
})
