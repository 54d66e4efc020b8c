/**
 * The malicious and broken corpus: every file in test/fixtures/config/bad/ (named NAME.KIND.yaml)
 * must be refused with the expected code, position and message, and every file there must be
 * listed here.
 */
import { readdirSync } from 'node:fs'
import { describe, expect, it } from '@jest/globals'
import { loadConfigFile, validateConfigFile, type ConfigKind } from '../../src/engine/config/index.js'
import { MiradorError, type ErrorCode } from '../../src/engine/errors.js'

const DIR = 'test/fixtures/config/bad'

// file → [code, line, column, message fragment]
const CASES: Record<string, [ErrorCode, number, number, string]> = {
  // explicit tags
  'tag-binary.config.yaml': ['CONFIG_UNSAFE', 2, 10, 'tag "!!binary" is not allowed'],
  'tag-js-function.chain.yaml': ['CONFIG_UNSAFE', 5, 13, 'tag "!!js/function" is not allowed'],
  'tag-python-object.config.yaml': ['CONFIG_UNSAFE', 2, 10, 'tag "!!python/object/apply:os.system" is not allowed'],
  'tag-custom.chain.yaml': ['CONFIG_UNSAFE', 3, 12, 'tag "!custom" is not allowed'],
  'tag-verbatim.config.yaml': ['CONFIG_UNSAFE', 1, 10, 'tag "!<tag:yaml.org,2002:binary>" is not allowed'],
  // directives
  'yaml11-directive.config.yaml': ['CONFIG_UNSAFE', 1, 1, '"%YAML 1.1" is not supported'],
  'tag-directive.config.yaml': ['CONFIG_UNSAFE', 1, 1, 'directive "%TAG" is not allowed'],
  // aliases
  'billion-laughs.config.yaml': ['CONFIG_UNSAFE', 8, 34, 'more than 20 aliases'],
  'alias-expansion.config.yaml': ['CONFIG_UNSAFE', 6, 14, 'aliases expand too much'],
  'too-many-aliases.config.yaml': ['CONFIG_UNSAFE', 5, 94, 'more than 20 aliases'],
  'circular-alias.config.yaml': ['CONFIG_UNSAFE', 4, 13, 'alias *loop refers to the node that contains it'],
  'unknown-alias.config.yaml': ['CONFIG_SYNTAX', 1, 10, 'alias *nowhere refers to no anchor'],
  // nesting
  'deep-flow.config.yaml': ['CONFIG_UNSAFE', 3, 47, 'nesting is deeper than 32 levels'],
  'deep-block.config.yaml': ['CONFIG_UNSAFE', 5, 65, 'nesting is deeper than 32 levels'],
  // keys
  'duplicate-key.chain.yaml': ['CONFIG_SYNTAX', 5, 5, 'duplicate key "model" (first defined at line 3)'],
  'duplicate-stage.chain.yaml': ['CONFIG_SYNTAX', 4, 3, 'duplicate key "quick" (first defined at line 2)'],
  'proto-key.chain.yaml': ['CONFIG_UNSAFE', 5, 5, 'the key "__proto__" is not allowed'],
  'proto-options.config.yaml': ['CONFIG_UNSAFE', 4, 7, 'the key "__proto__" is not allowed'],
  'constructor-stage.chain.yaml': ['CONFIG_INVALID', 2, 3, 'stages: the name "constructor" is reserved'],
  'prototype-model.manifest.yaml': ['CONFIG_INVALID', 2, 3, 'models: the name "prototype" is reserved'],
  'constructor-weight.chain.yaml': ['CONFIG_INVALID', 1, 12, 'weights: the name "constructor" is reserved'],
  'constructor-substitute.profile.yaml': ['CONFIG_INVALID', 2, 3, 'substitute: the name "constructor" is reserved'],
  'merge-key.chain.yaml': [
    'CONFIG_INVALID',
    5,
    5,
    'stages.deep: unknown key "<<". YAML merge keys (<<) are not supported',
  ],
  'complex-key.config.yaml': ['CONFIG_UNSAFE', 1, 3, 'Mirador keys are plain text'],
  // document shape
  'multi-doc.config.yaml': ['CONFIG_UNSAFE', 2, 1, 'more than one YAML document'],
  'empty.chain.yaml': ['CONFIG_INVALID', 1, 1, 'is empty: a chain is a map with at least `stages:`'],
  'comments-only.chain.yaml': ['CONFIG_INVALID', 1, 1, 'is empty'],
  'null-document.chain.yaml': ['CONFIG_INVALID', 1, 1, 'is empty'],
  'top-level-list.chain.yaml': ['CONFIG_INVALID', 1, 1, 'must be a map of keys, not a list'],
  'top-level-scalar.chain.yaml': ['CONFIG_INVALID', 1, 1, 'must be a map of keys, not a single value'],
  // bytes and syntax
  'binary.config.yaml': ['CONFIG_SYNTAX', 2, 13, 'control character U+0000'],
  'latin1.chain.yaml': ['CONFIG_SYNTAX', 4, 15, 'is not UTF-8 text (byte 0xe9'],
  'utf16.config.yaml': ['CONFIG_SYNTAX', 1, 1, 'is not UTF-8 text'],
  'tabs.config.yaml': ['CONFIG_SYNTAX', 2, 1, 'Tabs are not allowed as indentation. Indent with spaces'],
  'unclosed-quote.chain.yaml': ['CONFIG_SYNTAX', 5, 1, 'Missing closing "quote'],
  'bad-indent.config.yaml': ['CONFIG_SYNTAX', 3, 1, 'All mapping items must start at the same column'],
  'unclosed-flow.config.yaml': ['CONFIG_SYNTAX', 2, 1, 'Flow map'],
  // YAML 1.1 surprises
  'yes-boolean.config.yaml': [
    'CONFIG_INVALID',
    1,
    10,
    'offline: must be true or false (got "yes"). Mirador reads YAML 1.2, where yes is text: use true/false',
  ],
  // built-ins: their names and their options are checked where they are written
  'unknown-builtin.config.yaml': ['CONFIG_INVALID', 2, 3, 'builtins: unknown key "memroy". Did you mean "memory"?'],
  'builtin-option-typo.config.yaml': [
    'CONFIG_INVALID',
    4,
    5,
    'builtins.memory: unknown key "treshold". Did you mean "threshold"?',
  ],
  'off-boolean.config.yaml': [
    'CONFIG_INVALID',
    2,
    11,
    'builtins.memory: must be true, false, or a map of its options (got "off")',
  ],
  'octal.chain.yaml': ['CONFIG_UNSAFE', 5, 22, 'the number 0755 has a leading zero'],
  'sexagesimal.chain.yaml': [
    'CONFIG_INVALID',
    5,
    17,
    'stages.quick.timeout_ms: must be a whole number (got "1:20"). YAML 1.2 has no base-60 numbers',
  ],
  'nan.chain.yaml': ['CONFIG_INVALID', 5, 29, 'stages.quick.options.temperature: must be a number (got NaN)'],
  // schema
  'unknown-key.chain.yaml': [
    'CONFIG_INVALID',
    3,
    5,
    'stages.quick: unknown key "modle". Did you mean "model"? Allowed keys: model, prompt, system',
  ],
  'unknown-top-key.chain.yaml': ['CONFIG_INVALID', 1, 1, 'unknown key "stage". Did you mean "stages"?'],
  'temperature.chain.yaml': [
    'CONFIG_INVALID',
    6,
    20,
    'stages.deep.options.temperature: must be <= 2 (got 5). Set a temperature between 0 and 2.',
  ],
  'bad-stage-name.chain.yaml': ['CONFIG_INVALID', 2, 3, 'stages: invalid name "Quick Draft"'],
  'no-stages.chain.yaml': ['CONFIG_INVALID', 2, 1, 'stages: is empty. Add at least one stage'],
  'missing-prompt.chain.yaml': ['CONFIG_INVALID', 2, 3, 'stages.quick: missing required key "prompt"'],
  'ollama-no-base.manifest.yaml': [
    'CONFIG_INVALID',
    2,
    3,
    'models.quick: missing required key "base": an ollama model needs base',
  ],
  'llamacpp-base-and-file.manifest.yaml': ['CONFIG_INVALID', 2, 9, 'models.tiny: must be either base or file'],
  'negative-size.manifest.yaml': ['CONFIG_INVALID', 5, 14, 'models.tiny.size_gb: must be >= 0 (got -1)'],
  'unknown-runtime2.manifest.yaml': [
    'CONFIG_INVALID',
    3,
    14,
    'models.tiny.runtime: must be one of "ollama", "llamacpp" (got "vllm")',
  ],
  'llamacpp-no-file.manifest.yaml': ['CONFIG_INVALID', 2, 3, 'models.tiny: missing required key "base"'],
  'bad-runtime.manifest.yaml': [
    'CONFIG_INVALID',
    2,
    21,
    'models.quick.runtime: must be one of "ollama", "llamacpp" (got "olama"). Did you mean "ollama"?',
  ],
  'bad-host.config.yaml': ['CONFIG_INVALID', 2, 9, 'ollama.host: must be an http:// or https:// URL'],
  'bad-plugin.config.yaml': ['CONFIG_INVALID', 2, 7, 'plugins[0]: unknown key "nam". Did you mean "name"?'],
  'tool-traversal.tool.yaml': ['CONFIG_INVALID', 3, 9, 'source: must be a relative path to a .js or .mjs file'],
  'tool-absolute.tool.yaml': ['CONFIG_INVALID', 3, 9, 'source: must be a relative path'],
  'tool-params-array.tool.yaml': ['CONFIG_INVALID', 2, 21, 'parameters.type: must be "object" (got "array")'],
  'tool-capability.tool.yaml': ['CONFIG_INVALID', 4, 16, 'capabilities[0]: must be one of "memory.search"'],
  'profile-battery.profile.yaml': ['CONFIG_INVALID', 1, 24, 'when.battery_below: must be <= 100 (got 120)'],
}

describe('malicious and broken config files', () => {
  it('the corpus has at least 20 files and every one of them is in the table', () => {
    const files = readdirSync(DIR)
      .filter((f) => f.endsWith('.yaml'))
      .sort()
    expect(files.length).toBeGreaterThanOrEqual(20)
    expect(files).toEqual(Object.keys(CASES).sort())
  })

  it.each(Object.entries(CASES))('%s', async (name, [code, line, column, fragment]) => {
    const kind = name.split('.').at(-2) as ConfigKind
    const file = `${DIR}/${name}`
    const err = await loadConfigFile(file, kind).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(MiradorError)
    const e = err as MiradorError
    expect({ code: e.code, line: e.location?.line, column: e.location?.column }).toEqual({ code, line, column })
    expect(e.message).toContain(fragment)
    // the path is kept as given, and format() puts it in front
    expect(e.location?.file).toBe(file)
    expect(e.format()).toBe(`${file}:${line}:${column}: ${e.message}`)
    // validateConfigFile reports the same problem among its list
    const res = await validateConfigFile(file, kind)
    expect(res.ok).toBe(false)
    expect(res.errors[0]!.message).toBe(e.message)
  })

  it('never pollutes Object.prototype', async () => {
    for (const name of Object.keys(CASES)) {
      await loadConfigFile(`${DIR}/${name}`, name.split('.').at(-2) as ConfigKind).catch(() => undefined)
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false)
  })
})
