import { compileExpression, type CompiledExpression, ExpressionSyntaxError } from '../../expr/compileExpression'
import { compileTemplate, type CompiledTemplate } from '../../expr/compileTemplate'
import type { DiagnosticCode } from '../../diagnostics/codes'
import type { PathSegment, Problem, SourceDocument } from '../problems'
import { MAPPING_VARIABLES, unknownVariables } from './variables'

/** Ids of the earlier steps of an operation or webhook rule: what `$steps.<id>` may name there. */
export type StepIds = ReadonlySet<string>

/**
 * What every section compiler shares: the source (to place problems), the problems found so far, and what the
 * whole mapping learns while compiling (where `$registration` is read).
 */
export class CompileContext {
  readonly problems: Problem[] = []
  /** Where expressions read `$registration` (compileMapping decides which of these make handlers load it). */
  readonly registrationReads: PathSegment[][] = []
  private readonly declaredSettings: Set<string>

  constructor(
    readonly source: SourceDocument,
    settings: Record<string, unknown> | undefined,
  ) {
    this.declaredSettings = new Set(Object.keys(settings ?? {}))
  }

  problem(code: DiagnosticCode, path: PathSegment[], message: string, options?: { offsetInValue?: number }) {
    this.problems.push(this.source.problem(code, path, message, options))
  }

  /** A JSONata expression slot (the result keeps its JSON type). */
  expr(text: string, path: PathSegment[], stepIds?: StepIds): CompiledExpression {
    this.lintReferences(text, path, stepIds)
    this.lintVariables(text, 'expression', path)
    if (/^\s*\{\{[\s\S]*\}\}\s*$/.test(text)) {
      // A common slip: template braces in an expression slot, which JSONata would read as nested objects.
      this.problem('UH-E013', path, 'this field is an expression, not a template: write the JSONata without {{ }}', { offsetInValue: text.indexOf('{{') })
      return compileExpression('undefined')
    }
    try {
      return compileExpression(text)
    } catch (e) {
      if (!(e instanceof ExpressionSyntaxError)) throw e
      this.problem('UH-E014', path, `JSONata error at character ${e.position + 1} of the expression: ${e.message}`, { offsetInValue: e.position })
      return compileExpression('undefined')
    }
  }

  optionalExpr(text: string | undefined, path: PathSegment[], stepIds?: StepIds): CompiledExpression | undefined {
    return text === undefined ? undefined : this.expr(String(text), path, stepIds)
  }

  /** A `{{ }}` template slot (always renders to a string). */
  tmpl(text: string, path: PathSegment[], stepIds?: StepIds): CompiledTemplate {
    this.lintReferences(text, path, stepIds)
    this.lintVariables(text, 'template', path)
    try {
      return compileTemplate(text)
    } catch (e) {
      if (!(e instanceof ExpressionSyntaxError)) throw e
      this.problem('UH-E015', path, `template error at character ${e.position + 1}: ${e.message}`, { offsetInValue: e.position })
      return compileTemplate('')
    }
  }

  tmplMap(obj: Record<string, string> | undefined, path: PathSegment[], stepIds?: StepIds): [string, CompiledTemplate][] {
    return Object.entries(obj ?? {}).map(([k, v]) => [k, this.tmpl(String(v), [...path, k], stepIds)])
  }

  exprMap(obj: Record<string, string | undefined> | undefined, path: PathSegment[], stepIds?: StepIds): [string, CompiledExpression][] {
    return Object.entries(obj ?? {})
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, this.expr(String(v), [...path, k], stepIds)])
  }

  private lintVariables(text: string, kind: 'expression' | 'template', path: PathSegment[]) {
    for (const v of unknownVariables(text, kind)) {
      this.problem(
        'UH-E016',
        path,
        `unknown variable $${v.name}: mappings read ${[...MAPPING_VARIABLES].map((n) => `$${n}`).join(', ')} (or variables bound with :=)`,
        { offsetInValue: v.offset },
      )
    }
  }

  private lintReferences(text: string, path: PathSegment[], stepIds?: StepIds) {
    if (text.includes('$registration')) this.registrationReads.push(path)
    for (const m of text.matchAll(/\$settings\.([A-Za-z_][A-Za-z0-9_]*)/g)) {
      if (!this.declaredSettings.has(m[1]!)) {
        this.problem('UH-E017', path, `uses setting "${m[1]}" that the mapping does not declare under settings`, { offsetInValue: m.index })
      }
    }
    if (stepIds) {
      for (const m of text.matchAll(/\$steps\.([A-Za-z_][A-Za-z0-9_]*)/g)) {
        if (!stepIds.has(m[1]!)) {
          this.problem('UH-E018', path, `refers to step "${m[1]}", which is not an earlier step of this operation`, { offsetInValue: m.index })
        }
      }
    }
  }
}

/**
 * Section compilers destructure every field of their part of the format and pass the rest here: a field added
 * to the format (src/mapping/types.ts, held to the schema by test/mapping-types.test.ts) that no compiler reads
 * is then a type error instead of a silently ignored setting.
 */
export function allFieldsRead(rest: Record<string, never>): void {
  void rest
}
