import { LineCounter, parseDocument } from 'yaml'
import { MappingError, SourceDocument, type Problem } from './problems'

/** Parses YAML keeping node positions; syntax errors become positioned problems. */
export function parseYaml(text: string, file: string): SourceDocument {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, keepSourceTokens: true, uniqueKeys: true, prettyErrors: false })
  if (doc.errors.length > 0) {
    const problems: Problem[] = doc.errors.map((e) => {
      const { line, col } = lines.linePos(e.pos[0])
      return { file, line, column: col, path: '(yaml)', message: e.message.split('\n')[0]! }
    })
    throw new MappingError(problems)
  }
  return new SourceDocument(file, text, doc, lines)
}

/** The document's plain value; aliases are capped by `yaml` (maxAliasCount) against alias bombs. */
export const toValue = (source: SourceDocument): unknown => source.doc.toJS({ maxAliasCount: 100 })
