import { isMap, isScalar } from 'yaml'
import type { DiagnosticCode } from '../diagnostics/codes'
import { MAX_SETTINGS_BYTES } from './limits'
import { parseYaml, refuseOverSize, toValue } from './parseYaml'
import { MappingError, type Problem } from './problems'
import type { SettingDeclaration } from './types'

export type SettingValue = string | number | boolean
export type ResolvedSettings = {
  values: Record<string, SettingValue>
  /** Values of settings declared `secret: true`: masked wherever text leaves the engine. */
  secrets: string[]
}

/**
 * Checks the bot admin's settings (YAML text, or an object from a file) against what the mapping declares:
 * unknown names, missing required values and non-scalar values are errors; defaults are applied.
 */
export function parseSettings(
  input: string | Record<string, unknown> | undefined,
  declared: Record<string, SettingDeclaration>,
  file = 'settings',
): ResolvedSettings {
  const problems: Problem[] = []
  let raw: Record<string, unknown> = {}
  let place = (code: DiagnosticCode, key: string | undefined, message: string): Problem => ({ file, line: 1, column: 1, path: key ?? '(root)', code, message })

  if (typeof input === 'string' && input.trim() !== '') {
    refuseOverSize(input, MAX_SETTINGS_BYTES, file, 'settings text')
    const source = parseYaml(input, file)
    const contents = source.doc.contents
    if (contents && !isMap(contents) && !(isScalar(contents) && contents.value === null)) {
      throw new MappingError([source.problem('UH-E025', [], 'settings must be a YAML mapping of name: value lines')])
    }
    raw = (toValue(source) as Record<string, unknown>) ?? {}
    place = (code, key, message) => source.problem(code, key ? [key] : [], message, { key: !!key })
  } else if (input && typeof input === 'object') {
    raw = input
  }

  const values: Record<string, SettingValue> = {}
  /** Given but refused: already reported, not to be reported again as missing. */
  const refused = new Set<string>()
  const names = Object.keys(declared)
  for (const [key, value] of Object.entries(raw)) {
    if (!(key in declared)) {
      problems.push(place('UH-E026', key, `unknown setting "${key}"; this mapping declares: ${names.join(', ') || '(none)'}`))
      continue
    }
    if (value === null || value === undefined || value === '') continue
    if (typeof value === 'object') {
      problems.push(place('UH-E027', key, 'must be a single value (text, number or true/false), not a list or mapping'))
      refused.add(key)
      continue
    }
    if (declared[key]!.secret && typeof value === 'string' && value.trim() === '') {
      // A secret of spaces is no secret (an HMAC key or token anyone can guess): refuse it rather than use it.
      problems.push(place('UH-E053', key, `secret setting "${key}" is only white space; give the real value or leave it out`))
      refused.add(key)
      continue
    }
    values[key] = value as SettingValue
  }
  const secrets: string[] = []
  for (const [name, decl] of Object.entries(declared)) {
    if (values[name] === undefined && decl.default !== undefined) values[name] = decl.default
    if (values[name] === undefined && decl.required && !refused.has(name)) {
      problems.push(place('UH-E028', undefined, `missing required setting "${name}"${decl.description ? ` (${decl.description})` : ''}`))
    }
    if (decl.secret && values[name] !== undefined && String(values[name]).length > 0) secrets.push(String(values[name]))
  }
  if (problems.length) throw new MappingError(problems)
  return { values, secrets }
}
