import { isCollection, isMap, isPair, isScalar, LineCounter, parseDocument, type Document } from 'yaml'
import { MAX_ALIAS_EXPANSIONS, MAX_FLOW_NESTING } from './limits'
import { MappingError, SourceDocument, type Problem } from './problems'

const DUPLICATE_KEY = 'Map keys must be unique'

/** Parses YAML keeping node positions; syntax errors become positioned problems. */
export function parseYaml(text: string, file: string): SourceDocument {
  refuseDeepNesting(text, file)
  const lines = new LineCounter()
  // merge: YAML merge keys (`<<: *base`), which the shipped mappings' anchors invite authors to use.
  // `yaml`'s own unique-keys check compares every key with all earlier ones (quadratic in a map's size):
  // duplicates are found here instead, with one Set per map.
  // No `keepSourceTokens`: nothing reads the concrete syntax tree, and keeping it costs memory per node.
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false, merge: true })
  const errors = [...doc.errors.map((e) => ({ pos: e.pos[0], message: e.message.split('\n')[0]!, duplicate: false })), ...duplicateKeys(doc)]
  if (errors.length > 0) {
    // A structural mistake (indentation, a tab, an unclosed bracket) makes the parser misread what follows,
    // so errors after the first such one are often about lines that are fine: report up to that first one.
    // Duplicate keys do not derail the parser; each of them is reported.
    const problems: Problem[] = []
    for (const e of errors.sort((a, b) => a.pos - b.pos)) {
      const { line, col } = lines.linePos(e.pos)
      problems.push({ file, line, column: col, path: '(yaml)', code: 'UH-E001', message: e.message })
      if (!e.duplicate) break
    }
    throw new MappingError(problems)
  }
  return new SourceDocument(file, text, doc, lines)
}

/** A linear scan of brackets (a blank line resets it, so unbalanced brackets in prose do not add up). */
function refuseDeepNesting(text: string, file: string) {
  let depth = 0
  let line = 1
  let lineStart = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 10) {
      if (i + 1 < text.length && (text.charCodeAt(i + 1) === 10 || text.charCodeAt(i + 1) === 13)) depth = 0
      line++
      lineStart = i + 1
    } else if (c === 91 || c === 123) {
      if (++depth > MAX_FLOW_NESTING) {
        throw new MappingError([
          {
            file,
            line,
            column: i - lineStart + 1,
            path: '(yaml)',
            code: 'UH-E050',
            message: `nesting deeper than ${MAX_FLOW_NESTING} levels of [ and {; a mapping needs far fewer`,
          },
        ])
      }
    } else if ((c === 93 || c === 125) && depth > 0) depth--
  }
}

function duplicateKeys(doc: Document.Parsed): { pos: number; message: string; duplicate: true }[] {
  const found: { pos: number; message: string; duplicate: true }[] = []
  // Every map of the document, keys included, as `yaml`'s `visit` would reach them (aliases not followed),
  // walked directly: `visit` copies the path of ancestors for each node it passes.
  const walk = (node: unknown): void => {
    if (isPair(node)) {
      walk(node.key)
      walk(node.value)
    } else if (isCollection(node)) {
      if (isMap(node)) checkMap(node.items, found)
      for (const item of node.items) walk(item)
    }
  }
  walk(doc.contents)
  return found
}

function checkMap(pairs: readonly { key: unknown }[], found: { pos: number; message: string; duplicate: true }[]) {
  const seen = new Set<unknown>()
  for (const pair of pairs) {
    // Merge keys (`<<`) may repeat, as `yaml` allows them to.
    if (!isScalar(pair.key) || pair.key.value === '<<') continue
    if (seen.has(pair.key.value)) found.push({ pos: pair.key.range?.[0] ?? 0, message: DUPLICATE_KEY, duplicate: true })
    seen.add(pair.key.value)
  }
}

/** A text over `max` bytes is refused before parsing, placed at the first character past the limit. */
export function refuseOverSize(text: string, max: number, file: string, what: string) {
  if (text.length <= max / 4 || Buffer.byteLength(text) <= max) return
  // The character index where the byte count passes `max` (UTF-8: 1 to 4 bytes per character).
  let bytes = 0
  let index = 0
  for (const ch of text) {
    bytes += Buffer.byteLength(ch)
    if (bytes > max) break
    index += ch.length
  }
  const before = text.slice(0, index)
  const line = before.split('\n').length
  const column = index - before.lastIndexOf('\n')
  throw new MappingError([
    {
      file,
      line,
      column,
      path: '(root)',
      code: 'UH-E051',
      message: `the ${what} is ${Buffer.byteLength(text)} bytes; at most ${max} are allowed (this is where it passes the limit)`,
    },
  ])
}

/** The document's plain value; alias expansions are capped (MAX_ALIAS_EXPANSIONS) against alias bombs. */
export function toValue(source: SourceDocument): unknown {
  try {
    return source.doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSIONS })
  } catch (e) {
    // `yaml` throws a plain error when the alias cap is hit: report it like any other problem of the file.
    throw new MappingError([{ ...source.problem('UH-E002', [], ''), path: '(yaml)', message: `refused: ${(e as Error).message}` }])
  }
}
