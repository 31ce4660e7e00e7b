// Reading the CLI's input files, and the errors that make it exit 2 (usage or input).
import { readFileSync } from 'node:fs'
import { parse as parseYamlText } from 'yaml'
import type { CompiledMapping } from '../mapping/compileMapping'
import { compileMappingText } from '../mapping/loadMapping'
import { parseSettings, type ResolvedSettings } from '../mapping/parseSettings'
import type { FixtureResponse } from '../mapping/types'

/** Bad usage or an input file that cannot be used: `error: …`, exit 2. */
export class CliError extends Error {}

export function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (e) {
    throw new CliError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
  }
}

export function readJson(path: string): Record<string, unknown> {
  const text = readText(path)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    throw new CliError(`${path} is not JSON: ${(e as Error).message}`)
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new CliError(`${path} must hold a JSON object`)
  return value as Record<string, unknown>
}

/** A JSON or YAML file's value (YAML reads JSON too); a syntax error is an input error. */
export function readJsonOrYaml(path: string): unknown {
  const text = readText(path)
  try {
    return parseYamlText(text)
  } catch (e) {
    throw new CliError(`${path} is neither JSON nor YAML: ${(e as Error).message.split('\n')[0]}`)
  }
}

/** A settings file: JSON objects as they are, anything else as YAML text (parseSettings reports it positioned). */
export function settingsFrom(path: string | undefined): string | Record<string, unknown> | undefined {
  if (!path) return undefined
  const text = readText(path)
  try {
    const value = JSON.parse(text)
    if (value && typeof value === 'object' && !Array.isArray(value)) return value
  } catch {
    // not JSON: YAML text
  }
  return text
}

/** A mapping with the settings and registration to run it with: the files given, else the mapping's fixtures'. */
export function loadForCli(
  file: string,
  opts: { settings?: string; registration?: string },
): { mapping: CompiledMapping; settings: ResolvedSettings; registration?: Record<string, unknown> } {
  const mapping = compileMappingText(readText(file), file)
  const fixtures = mapping.file.fixtures
  const settings = opts.settings
    ? parseSettings(settingsFrom(opts.settings), mapping.file.settings ?? {}, opts.settings)
    : parseSettings(
        (fixtures?.settings ?? {}) as Record<string, unknown>,
        mapping.file.settings ?? {},
        fixtures?.settings ? `${file} fixtures.settings` : `${file} (no --settings given, no fixtures.settings)`,
      )
  const registration = opts.registration ? readJson(opts.registration) : fixtures?.registration
  return { mapping, settings, registration }
}

/** Stub answers by step id, as fixtures' `stepResponses` have them: `{ "<step id>": [{status, headers, body}, …] }`. */
export function readStepResponses(path: string): Record<string, FixtureResponse[]> {
  const value = readJsonOrYaml(path)
  const shape = `${path} must map step ids to lists of {status, headers, body}, as a fixture's stepResponses`
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new CliError(shape)
  for (const [id, list] of Object.entries(value)) {
    if (!Array.isArray(list) || list.some((r) => !r || typeof r !== 'object' || Array.isArray(r)))
      throw new CliError(`${shape} (step "${id}" is not a list of objects)`)
  }
  return value as Record<string, FixtureResponse[]>
}
