// The bot admin's settings against what the mapping declares: every problem at once and placed, defaults
// applied, secrets collected for masking, and a failed configuration never cached.
import { describe, expect, it } from 'vitest'
import { createEngine } from '../../src/engine/createEngine'
import { compileMappingText, loadMapping } from '../../src/mapping/loadMapping'
import { parseSettings } from '../../src/mapping/parseSettings'
import { formatProblem } from '../../src/mapping/problems'
import { acmeText, mappingErrorOf } from './helpers'

const declared = compileMappingText(acmeText, 'acme.yaml').file.settings!
const GOOD = 'baseUrl: http://127.0.0.1:9\napiToken: tok-SECRET-5521\nwebhookSecret: whsec-SECRET-7731\n'

describe('parseSettings', () => {
  it('a complete settings text gives the values, with defaults for what is left out', () => {
    const s = parseSettings(GOOD, declared)
    expect(s.values).toEqual({ baseUrl: 'http://127.0.0.1:9', apiToken: 'tok-SECRET-5521', webhookSecret: 'whsec-SECRET-7731', queue: 'support' })
  })

  it('an explicit value wins over the default; an empty or null one falls back to it', () => {
    expect(parseSettings(`${GOOD}queue: vip\n`, declared).values.queue).toBe('vip')
    expect(parseSettings(`${GOOD}queue: ""\n`, declared).values.queue).toBe('support')
    expect(parseSettings(`${GOOD}queue:\n`, declared).values.queue).toBe('support')
  })

  it('a secret that is only white space is refused at its key, naming the setting', () => {
    const e = mappingErrorOf(() => parseSettings('baseUrl: http://127.0.0.1:9\napiToken: tok-1\nwebhookSecret: "   "\n', declared, 'settings'))
    expect(e.problems.map(formatProblem)).toEqual([
      'settings:3:1: webhookSecret: UH-E053 secret setting "webhookSecret" is only white space; give the real value or leave it out',
    ])
    const required = mappingErrorOf(() => parseSettings('baseUrl: http://127.0.0.1:9\napiToken: "\t "\nwebhookSecret: w-1\n', declared, 'settings'))
    expect(required.problems.map((p) => p.message)).toEqual(['secret setting "apiToken" is only white space; give the real value or leave it out'])
  })

  it('numbers and booleans are kept as such', () => {
    const s = parseSettings('n: 3\nflag: true\n', { n: {}, flag: {} })
    expect(s.values).toEqual({ n: 3, flag: true })
  })

  it('every missing required setting is listed at once, with its description', () => {
    const e = mappingErrorOf(() => parseSettings('queue: vip\n', declared))
    expect(e.problems.map((p) => p.message)).toEqual([
      'missing required setting "baseUrl" (Where Acme Desk answers)',
      'missing required setting "apiToken"',
      'missing required setting "webhookSecret"',
    ])
    expect(e.message.split('\n')).toHaveLength(3)
  })

  it('an unknown name is reported at its key with line and column, and the declared names are listed', () => {
    const e = mappingErrorOf(() =>
      parseSettings('baseUrl: http://x\n  # a comment\napiTokn: abc\napiToken: tok-1\nwebhookSecret: w-1\n', declared, 'settings.yaml'),
    )
    expect(e.problems.map(formatProblem)).toEqual([
      'settings.yaml:3:1: apiTokn: UH-E026 unknown setting "apiTokn"; this mapping declares: baseUrl, apiToken, webhookSecret, queue',
    ])
  })

  it('unknown and missing settings are reported together', () => {
    const e = mappingErrorOf(() => parseSettings('baseUrl: http://x\napiTokn: a\n', declared))
    expect(e.message).toContain('settings:2:1: apiTokn: UH-E026 unknown setting "apiTokn"')
    expect(e.message).toContain('missing required setting "apiToken"')
    expect(e.message).toContain('missing required setting "webhookSecret"')
    expect(e.problems).toHaveLength(3)
  })

  it('a nested value (mapping or list) is refused at its key', () => {
    const e = mappingErrorOf(() => parseSettings(`${GOOD}queue:\n  name: vip\n`, declared))
    expect(e.problems.map(formatProblem)).toEqual(['settings:4:1: queue: UH-E027 must be a single value (text, number or true/false), not a list or mapping'])
    const list = mappingErrorOf(() => parseSettings(`${GOOD}queue: [a, b]\n`, declared))
    expect(list.problems).toHaveLength(1)
    expect(list.problems[0]).toMatchObject({ line: 4, column: 1, path: 'queue' })
  })

  it('a YAML syntax error is positioned', () => {
    const e = mappingErrorOf(() => parseSettings('baseUrl: http://x\napiToken: a\napiToken: b\n', declared, 'settings.yaml'))
    expect(e.problems.map(formatProblem)).toEqual(['settings.yaml:3:1: (yaml): UH-E001 Map keys must be unique'])
    const tab = mappingErrorOf(() => parseSettings('baseUrl: http://x\nextra:\n\tkey: 1\n', declared, 'settings.yaml'))
    expect(tab.problems.map(formatProblem)).toEqual(['settings.yaml:3:1: (yaml): UH-E001 Tabs are not allowed as indentation'])
  })

  it('text that is not a mapping of name: value lines is refused', () => {
    const e = mappingErrorOf(() => parseSettings('just some words', declared))
    expect(e.message).toBe('settings:1:1: (root): UH-E025 settings must be a YAML mapping of name: value lines')
    expect(() => parseSettings('- a\n- b\n', declared)).toThrow('settings must be a YAML mapping')
  })

  it('an object (settings from a JSON file) is checked the same way', () => {
    expect(parseSettings({ baseUrl: 'http://x', apiToken: 'tok-1', webhookSecret: 'w-1' }, declared).values.queue).toBe('support')
    const e = mappingErrorOf(() => parseSettings({ baseUrl: 'http://x', apiToken: { nested: 1 }, extra: 1 }, declared))
    expect(e.problems.map((p) => `${p.path}: ${p.message.split(';')[0]}`)).toEqual([
      'apiToken: must be a single value (text, number or true/false), not a list or mapping',
      'extra: unknown setting "extra"',
      '(root): missing required setting "webhookSecret"',
    ])
  })

  it('empty settings with nothing required is fine', () => {
    expect(parseSettings('', { a: { default: 'x' } }).values).toEqual({ a: 'x' })
    expect(parseSettings(undefined, {}).values).toEqual({})
  })

  it('the values of secret settings are collected, and only those', () => {
    const s = parseSettings(GOOD, declared)
    expect(s.secrets.sort()).toEqual(['tok-SECRET-5521', 'whsec-SECRET-7731'])
    const withDefault = parseSettings('', { token: { secret: true, default: 'default-secret-1' }, plain: { default: 'p' } })
    expect(withDefault.secrets).toEqual(['default-secret-1'])
  })

  it('the collected secrets are masked by the engine redactor', () => {
    const mapping = compileMappingText(acmeText, 'acme.yaml')
    const engine = createEngine({ mapping, settings: parseSettings(GOOD, declared), hash: 'x' })
    expect(engine.redactor.text('token tok-SECRET-5521 and whsec-SECRET-7731 at http://127.0.0.1:9')).toBe('token *** and *** at http://127.0.0.1:9')
    expect(engine.redactor.text(`encoded ${encodeURIComponent('tok-SECRET-5521')} ${Buffer.from('whsec-SECRET-7731').toString('base64')}`)).toBe(
      'encoded *** ***',
    )
  })
})

describe('loadMapping with settings', () => {
  it('settings that fail leave nothing cached: the same bad text fails again, a good one then loads', () => {
    const bad = 'baseUrl: http://x\napiTokn: abc\n'
    const first = mappingErrorOf(() => loadMapping({ mapping: acmeText, settings: bad }))
    expect(first.message).toContain('settings:2:1: apiTokn: UH-E026 unknown setting "apiTokn"')
    const again = mappingErrorOf(() => loadMapping({ mapping: acmeText, settings: bad }))
    expect(again.message).toBe(first.message)
    const good = loadMapping({ mapping: acmeText, settings: `${GOOD}queue: settings-cache-test\n` })
    expect(good.settings.values.queue).toBe('settings-cache-test')
    expect(good.settings.secrets.sort()).toEqual(['tok-SECRET-5521', 'whsec-SECRET-7731'])
  })

  it('settings with a YAML syntax error fail every time, then a corrected text loads', () => {
    const broken = `${GOOD}queue: [unclosed\n`
    expect(() => loadMapping({ mapping: acmeText, settings: broken })).toThrow(/^settings:\d+:\d+: \(yaml\): /)
    expect(() => loadMapping({ mapping: acmeText, settings: broken })).toThrow(/^settings:\d+:\d+: \(yaml\): /)
    expect(loadMapping({ mapping: acmeText, settings: `${GOOD}queue: fixed\n` }).settings.values.queue).toBe('fixed')
  })

  it('settings given as an object work like text', () => {
    const loaded = loadMapping({ mapping: acmeText, settings: { baseUrl: 'http://x', apiToken: 'tok-obj-1', webhookSecret: 'w-obj-1' } })
    expect(loaded.settings.values).toMatchObject({ baseUrl: 'http://x', queue: 'support' })
  })
})
