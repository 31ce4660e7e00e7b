import type { ErrorObject, ValidateFunction } from 'ajv'
import { validate as generatedValidator } from './mappingValidator.generated'
import type { DiagnosticCode } from '../diagnostics/codes'
import { countBelow, type PathSegment, type Problem, type SourceDocument } from './problems'

// ajv's standalone code for schemas/mapping.schema.json, generated at build time (scripts/generate-sources.mjs):
// a fresh integration process validates its first mapping without compiling the schema.
const validator = () => generatedValidator as unknown as ValidateFunction

const MAX_PROBLEMS = 25

/** JSON pointer → path segments (unescaping every `~1` and `~0`). */
const pointerToPath = (pointer: string): PathSegment[] =>
  pointer === ''
    ? []
    : pointer
        .slice(1)
        .split('/')
        .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
        .map((s) => (/^\d+$/.test(s) ? Number(s) : s))

function describe(error: ErrorObject): { code: DiagnosticCode; path: PathSegment[]; message: string; key?: boolean } {
  const path = pointerToPath(error.instancePath)
  const p = error.params as Record<string, unknown>
  // An error about a key's name (under `propertyNames`): placed at that key, not at its parent map.
  const name = (error as ErrorObject & { propertyName?: string }).propertyName
  if (name !== undefined) return { code: 'UH-E004', path: [...path, name], message: `invalid name "${name}": ${error.message ?? error.keyword}`, key: true }
  switch (error.keyword) {
    case 'required':
      return { code: 'UH-E005', path, message: `missing required field "${p.missingProperty}"` }
    case 'additionalProperties':
      return { code: 'UH-E006', path: [...path, String(p.additionalProperty)], message: `unknown field "${p.additionalProperty}"`, key: true }
    case 'enum':
      return { code: 'UH-E007', path, message: `must be one of: ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` }
    case 'const':
      return { code: 'UH-E008', path, message: `must be ${JSON.stringify(p.allowedValue)}` }
    case 'type':
      return { code: 'UH-E009', path, message: `must be ${p.type}` }
    case 'false schema':
      // The schema forbids a field outright in this place (e.g. `path` next to `url`).
      return { code: 'UH-E010', path, message: `"${path.at(-1)}" is not allowed here (see the field's description: it excludes another field)` }
    case 'propertyNames':
      return { code: 'UH-E011', path, message: `has an invalid name "${p.propertyName}"` }
    default:
      return { code: 'UH-E012', path, message: error.message ?? error.keyword }
  }
}

const COMBINATORS = new Set(['oneOf', 'anyOf', 'if', 'not'])

/** The key names errors are about (`propertyName`), by instance path. */
function namesByPath(errors: ErrorObject[]): Map<string, Set<unknown>> {
  const out = new Map<string, Set<unknown>>()
  for (const e of errors) {
    const names = out.get(e.instancePath) ?? new Set()
    out.set(e.instancePath, names)
    names.add((e as { propertyName?: unknown }).propertyName)
  }
  return out
}

/** Instance paths, sorted: whether any starts with a given prefix is one binary search. */
class Below {
  private readonly sorted: string[]
  constructor(paths: string[]) {
    this.sorted = paths.sort()
  }
  anyStartsWith(prefix: string): boolean {
    // The paths starting with `prefix` sort right at or after it: the first one not below it decides.
    const i = countBelow(this.sorted, prefix)
    return i < this.sorted.length && this.sorted[i]!.startsWith(prefix)
  }
}

/** Schema-checks a parsed mapping; each problem reported once, at its YAML node. */
export function validateMapping(value: unknown, source: SourceDocument): Problem[] {
  const validate = validator()
  if (validate(value)) return []
  const errors = validate.errors ?? []
  // Combinator errors ("must match exactly one schema") only repeat what their branches said: keep the
  // branch errors when there are any below the same place. `propertyNames` only repeats the error about the
  // name itself, which says what is wrong with it. (Both looked up in indexes: a mapping with thousands of
  // errors is not compared error by error.)
  const below = new Below(errors.filter((e) => !COMBINATORS.has(e.keyword)).map((e) => e.instancePath))
  const names = namesByPath(errors)
  const described = errors
    .filter((e) => !COMBINATORS.has(e.keyword) || !below.anyStartsWith(e.instancePath))
    .filter((e) => e.keyword !== 'propertyNames' || !names.get(e.instancePath)!.has(e.params.propertyName))
    .map(describe)
  const seen = new Set<string>()
  const problems: Problem[] = []
  for (const d of described) {
    const key = `${d.path.join('/')}|${d.message}`
    if (seen.has(key)) continue
    seen.add(key)
    problems.push(source.problem(d.code, d.path, d.message, { key: d.key }))
    if (problems.length >= MAX_PROBLEMS) break
  }
  return problems
}
