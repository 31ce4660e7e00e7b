import { createHash } from 'node:crypto'
import { compileMapping, type CompiledMapping } from './compileMapping'
import { parseSettings, type ResolvedSettings } from './parseSettings'
import { parseYaml, toValue } from './parseYaml'
import { formatPath, MappingError, type SourceDocument } from './problems'
import { prevalidatedMappings, shippedMappings } from './shippedMappings.generated'
import type { MappingFile } from './types'
import { MAX_MAPPING_BYTES, MAX_SETTINGS } from './limits'
import { refuseOverSize } from './parseYaml'
import { validateMapping } from './validateMapping'

export type LoadedMapping = {
  mapping: CompiledMapping
  settings: ResolvedSettings
  /** Hash of mapping text + settings text: the cache key, also stored with registrations. */
  hash: string
}

export const shippedMappingNames = () => Object.keys(shippedMappings)

/** A configuration's `mapping` is either a whole YAML file or the name of a shipped one. */
export function resolveMappingText(mapping: string): { text: string; file: string } {
  const trimmed = mapping.trim()
  if (/^[a-z0-9][a-z0-9-]*$/i.test(trimmed)) {
    const text = shippedMappings[trimmed.toLowerCase()]
    if (text === undefined) {
      throw new MappingError([
        {
          file: 'mapping',
          line: 1,
          column: 1,
          path: '(root)',
          code: 'UH-E003',
          message: `"${trimmed}" is not a shipped mapping; shipped: ${shippedMappingNames().join(', ')} (or paste a whole YAML mapping)`,
        },
      ])
    }
    return { text, file: `mappings/${trimmed.toLowerCase()}.yaml` }
  }
  return { text: mapping, file: 'mapping' }
}

/**
 * Parses, validates and compiles a mapping file's text; throws MappingError listing every problem. `parsed`:
 * the text already parsed by parseYaml (the CLI's `validate` reads warnings from it first), not parsed again.
 */
export function compileMappingText(text: string, file: string, parsed?: SourceDocument): CompiledMapping {
  refuseOverSize(text, MAX_MAPPING_BYTES, file, 'mapping')
  return compileSource(parsed ?? parseYaml(text, file))
}

/** Validates and compiles a parsed mapping (the size limit is compileMappingText's: the benchmark goes past it). */
export function compileSource(source: SourceDocument): CompiledMapping {
  const value = toValue(source)
  const settings = (value as { settings?: unknown } | null)?.settings
  if (settings && typeof settings === 'object') {
    const names = Object.keys(settings)
    if (names.length > MAX_SETTINGS) {
      throw new MappingError([
        source.problem('UH-E052', ['settings', names[MAX_SETTINGS]!], `the mapping declares ${names.length} settings; at most ${MAX_SETTINGS} are allowed`, {
          key: true,
        }),
      ])
    }
  }
  const problems = validateMapping(value, source)
  if (problems.length) throw new MappingError(problems)
  const { mapping, problems: compileProblems } = compileMapping(value as MappingFile, source)
  if (!mapping) throw new MappingError(compileProblems)
  return mapping
}

/**
 * A shipped mapping as the integration bundle carries it: validated by the build (scripts/build.mjs), without
 * comments or fixtures, as JSON. Compiled without parsing YAML or running the schema check; problems
 * (there are none: the build refused them) would have no position.
 */
function compileResolved(text: string, file: string): CompiledMapping {
  if (!prevalidatedMappings.includes(file)) return compileMappingText(text, file)
  const value: unknown = JSON.parse(text)
  const unplaced = { problem: (code, path, message) => ({ file, line: 1, column: 1, path: formatPath(path), code, message }) } as Pick<
    SourceDocument,
    'problem'
  >
  const { mapping, problems } = compileMapping(value as MappingFile, unplaced as SourceDocument)
  if (!mapping) throw new MappingError(problems)
  return mapping
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex')

// Compiled mappings by text hash, loaded configurations by mapping+settings hash. Small caps: an
// integration process serves few configurations, and a changed configuration must not grow memory forever.
const compiled = new Map<string, CompiledMapping>()
const loaded = new Map<string, LoadedMapping>()
const CACHE_CAP = 32

function remember<V>(cache: Map<string, V>, key: string, value: V): V {
  if (cache.size >= CACHE_CAP) cache.delete(cache.keys().next().value as string)
  cache.set(key, value)
  return value
}

/** The configuration (mapping + settings text) → a ready mapping, compiled once per distinct configuration. */
export function loadMapping(config: { mapping: string; settings?: string | Record<string, unknown> }): LoadedMapping {
  const settingsText = typeof config.settings === 'string' ? config.settings : JSON.stringify(config.settings ?? {})
  // Keyed by the configuration text itself: a Map lookup is much cheaper than hashing ~20 KB on every request.
  const key = `${config.mapping}\u0000${settingsText}`
  const hit = loaded.get(key)
  if (hit) return hit
  const hash = sha(key)
  const { text, file } = resolveMappingText(config.mapping ?? '')
  const textHash = sha(text)
  const mapping = compiled.get(textHash) ?? remember(compiled, textHash, compileResolved(text, file))
  const settings = parseSettings(config.settings, mapping.file.settings ?? {})
  return remember(loaded, key, { mapping, settings, hash })
}
