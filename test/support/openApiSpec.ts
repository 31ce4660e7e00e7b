import { readFileSync } from 'node:fs'
import type Ajv from 'ajv'
import type { ValidateFunction } from 'ajv'
import Ajv2019 from 'ajv/dist/2019'
import Ajv2020 from 'ajv/dist/2020'
import addFormats from 'ajv-formats'
import { parse as parseYaml } from 'yaml'
import type { RecordedRequest } from '../../src/fixtures/stubHelpdesk'

/**
 * Checks requests a mapping sends against a vendor's published OpenAPI description (3.0 or 3.1): the path
 * template, the method, required path/query/header parameters and the JSON body against the operation's request
 * schema, with every `$ref` resolved inside the document.
 */
type Json = Record<string, unknown>
type Parameter = { name: string; in: 'path' | 'query' | 'header' | 'cookie'; required?: boolean }
type Route = { template: string; pattern: RegExp; literalLength: number; item: Json }

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options']
const SPEC_ID = 'vendor-spec'

const escapePointer = (segment: string) => segment.replace(/~/g, '~0').replace(/\//g, '~1')

export type OpenApiSpecOptions = {
  /** Formats the spec uses wrongly, with no check (the reason belongs next to the option where it is set). */
  ignoreFormats?: string[]
  /** Top-level body fields the vendor takes although the request schema omits them, by `METHOD template`. */
  undeclaredFields?: Record<string, string[]>
}

export class OpenApiSpec {
  private readonly doc: Json
  private readonly routes: Route[]
  private readonly ajv: Ajv
  private readonly validators = new Map<string, ValidateFunction>()
  private readonly undeclaredFields: Record<string, string[]>

  constructor(file: string, options: OpenApiSpecOptions = {}) {
    this.undeclaredFields = options.undeclaredFields ?? {}
    const text = readFileSync(file, 'utf8')
    this.doc = (file.endsWith('.json') ? JSON.parse(text) : parseYaml(text, { maxAliasCount: -1 })) as Json
    const version = String(this.doc.openapi ?? '')
    if (!/^3\.[01]\./.test(version)) throw new Error(`${file}: OpenAPI ${version || '(none)'} is not supported (3.0 or 3.1)`)
    // 3.1 schemas are JSON Schema 2020-12 (`type: [x, "null"]`); 3.0 ones are draft-04-like with `nullable`,
    // which Ajv 8 understands in every draft; its 2019-09 build is used for them because it has
    // `unevaluatedProperties` (see bodyValidator). strict: false, because the documents carry OpenAPI keywords
    // (`example`, `discriminator`, `xml`, `x-…`) that are not JSON Schema.
    this.ajv = version.startsWith('3.1')
      ? new Ajv2020({ strict: false, allErrors: true, validateSchema: false })
      : new Ajv2019({ strict: false, allErrors: true, validateSchema: false })
    addFormats(this.ajv)
    for (const f of options.ignoreFormats ?? []) this.ajv.addFormat(f, true)
    this.ajv.addSchema({ ...this.doc, $id: SPEC_ID })
    this.routes = Object.entries((this.doc.paths ?? {}) as Record<string, Json>).map(([template, item]) => {
      const parts = template.split(/(\{[^}]+\})/)
      const source = parts.map((p) => (p.startsWith('{') ? '([^/]+)' : p.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))).join('')
      return { template, pattern: new RegExp(`^${source}$`), literalLength: parts.filter((p) => !p.startsWith('{')).join('').length, item }
    })
  }

  /** Follows `$ref`s inside the document (`#/components/...`). */
  private resolve<T>(node: unknown): T {
    let current = node as Json
    for (let hops = 0; current && typeof current.$ref === 'string'; hops++) {
      if (hops > 20) throw new Error(`$ref loop at ${current.$ref}`)
      const ref = current.$ref as string
      if (!ref.startsWith('#/')) throw new Error(`external $ref ${ref} is not supported`)
      current = ref
        .slice(2)
        .split('/')
        .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
        .reduce<unknown>((o, key) => (o as Json | undefined)?.[key], this.doc) as Json
    }
    return current as T
  }

  /** The path template a concrete path matches: the one with the most literal text (`/contacts/search` before `/contacts/{id}`). */
  private route(path: string): Route | undefined {
    return this.routes.filter((r) => r.pattern.test(path)).sort((a, b) => b.literalLength - a.literalLength)[0]
  }

  private bodyValidator(template: string, method: string, mediaType: string): ValidateFunction {
    const key = `${method} ${template} ${mediaType}`
    let v = this.validators.get(key)
    if (!v) {
      const operation = this.resolve<Json>((this.resolve<Json>(this.doc.paths as Json)[template] as Json)[method])
      const requestBodyPointer = (operation.requestBody as Json).$ref
        ? ((operation.requestBody as Json).$ref as string)
        : `#/paths/${escapePointer(template)}/${method}/requestBody`
      // A top-level field the schema does not describe fails too (`unevaluatedProperties`): vendors ignore
      // unknown fields silently, so a misspelt or misplaced field would otherwise pass unnoticed. (Nested
      // objects keep the spec's own rules: many are open maps such as custom attributes.)
      v = this.ajv.compile({ allOf: [{ $ref: `${SPEC_ID}${requestBodyPointer}/content/${escapePointer(mediaType)}/schema` }], unevaluatedProperties: false })
      this.validators.set(key, v)
    }
    return v
  }

  /** Every way the request breaks the spec, empty when the spec allows it. `path` is relative to the spec's server URL. */
  check(request: Pick<RecordedRequest, 'method' | 'path' | 'query' | 'headers' | 'body' | 'bodyText'>): string[] {
    const method = request.method.toLowerCase()
    const route = this.route(request.path)
    if (!route) return [`${request.method} ${request.path}: no path of the spec matches`]
    const where = `${request.method} ${request.path} (${route.template})`
    const item = this.resolve<Json>(route.item)
    if (!METHODS.includes(method) || !item[method]) return [`${where}: the spec has no ${request.method} for this path`]
    const operation = this.resolve<Json>(item[method])
    const problems: string[] = []
    const parameters = [...((item.parameters ?? []) as unknown[]), ...((operation.parameters ?? []) as unknown[])].map((p) => this.resolve<Parameter>(p))
    const pathValues = route.pattern.exec(request.path)!.slice(1)
    const pathNames = [...route.template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!)
    for (const p of parameters.filter((x) => x.required)) {
      if (p.in === 'path' && !pathValues[pathNames.indexOf(p.name)]) problems.push(`${where}: path parameter ${p.name} is empty`)
      if (p.in === 'query' && request.query[p.name] === undefined) problems.push(`${where}: required query parameter ${p.name} is missing`)
      if (p.in === 'header' && request.headers[p.name.toLowerCase()] === undefined) problems.push(`${where}: required header ${p.name} is missing`)
    }
    const requestBody = operation.requestBody ? this.resolve<Json>(operation.requestBody) : undefined
    const hasBody = request.bodyText !== ''
    if (!hasBody) {
      if (requestBody?.required) problems.push(`${where}: the spec requires a request body, none was sent`)
      return problems
    }
    if (!requestBody) return [...problems, `${where}: the spec takes no request body, one was sent`]
    const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim()
    const content = (requestBody.content ?? {}) as Record<string, Json>
    if (!content[contentType])
      return [...problems, `${where}: body sent as ${contentType || '(no content type)'}, the spec takes ${Object.keys(content).join(', ')}`]
    if (!content[contentType]!.schema) return problems
    const validate = this.bodyValidator(route.template, method, contentType)
    const body = contentType === 'multipart/form-data' ? formFields(request.body) : request.body
    if (!validate(body)) {
      const allowed = this.undeclaredFields[`${request.method.toUpperCase()} ${route.template}`] ?? []
      const errors = (validate.errors ?? []).filter(
        (e) => !(e.keyword === 'unevaluatedProperties' && e.instancePath === '' && allowed.includes(String(e.params.unevaluatedProperty))),
      )
      for (const e of errors)
        problems.push(`${where}: body${e.instancePath || ''} ${e.message}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''}`)
    }
    return problems
  }
}

/**
 * A recorded multipart body as the spec's form schema sees it: a file part ({filename, contentType, size}) is a
 * `format: binary` string, and a field named `x[]` (the Rails array convention) is an array even when sent once.
 */
function formFields(body: unknown): unknown {
  if (!body || typeof body !== 'object') return body
  const asValue = (v: unknown) => (v && typeof v === 'object' && 'filename' in v ? String((v as { filename: unknown }).filename) : v)
  return Object.fromEntries(
    Object.entries(body as Record<string, unknown>).map(([k, v]) => {
      const values = Array.isArray(v) ? v.map(asValue) : asValue(v)
      return [k, k.endsWith('[]') && !Array.isArray(values) ? [values] : values]
    }),
  )
}
