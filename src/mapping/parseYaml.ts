import { LineCounter, parseDocument } from 'yaml'
import { MappingError, SourceDocument, type Problem } from './problems'

/** Parses YAML keeping node positions; syntax errors become positioned problems. */
export function parseYaml(text: string, file: string): SourceDocument {
  const lines = new LineCounter()
  // merge: YAML merge keys (`<<: *base`), which the shipped mappings' anchors invite authors to use.
  const doc = parseDocument(text, { lineCounter: lines, keepSourceTokens: true, uniqueKeys: true, prettyErrors: false, merge: true })
  if (doc.errors.length > 0) {
    // A structural mistake (indentation, a tab, an unclosed bracket) makes the parser misread what follows,
    // so errors after the first such one are often about lines that are fine: report up to that first one.
    // Duplicate keys do not derail the parser; each of them is reported.
    const problems: Problem[] = []
    for (const e of [...doc.errors].sort((a, b) => a.pos[0] - b.pos[0])) {
      const { line, col } = lines.linePos(e.pos[0])
      problems.push({ file, line, column: col, path: '(yaml)', code: 'UH-E001', message: e.message.split('\n')[0]! })
      if (e.code !== 'DUPLICATE_KEY') break
    }
    throw new MappingError(problems)
  }
  return new SourceDocument(file, text, doc, lines)
}

/** The document's plain value; aliases are capped by `yaml` (maxAliasCount) against alias bombs. */
export function toValue(source: SourceDocument): unknown {
  try {
    return source.doc.toJS({ maxAliasCount: 100 })
  } catch (e) {
    // `yaml` throws a plain error when the alias cap is hit: report it like any other problem of the file.
    throw new MappingError([{ ...source.problem('UH-E002', [], ''), path: '(yaml)', message: `refused: ${(e as Error).message}` }])
  }
}
