import type { CompiledExpression, Scope } from '../expr/compileExpression'
import { base64Files, multipartBody } from '../attachments/encodeFiles'
import { BOTPRESS_FILE_HOSTS, downloadFile, type MessageFile } from '../attachments/downloadFile'
import type { CompiledFiles } from '../mapping/compile/steps'
import type { HttpRequest } from '../http/sendRequest'
import { DiagnosticError } from '../diagnostics/codes'

/**
 * The body of a `files` step: the message's files (the input's `files`) downloaded from Botpress and sent as
 * multipart parts beside the body's fields, given to the body expression as `$files` (base64) for JSON, or
 * sent alone as the whole body (binary).
 */
export async function attachFiles(
  spec: CompiledFiles,
  bodyExpr: CompiledExpression | undefined,
  ctx: { fileHosts?: readonly string[]; rewriteFileUrl?: (url: string) => string },
  context: unknown,
  scope: Scope,
): Promise<HttpRequest['body']> {
  const list = ((context as { files?: MessageFile[] } | undefined)?.files ?? []) as MessageFile[]
  const files = []
  for (const f of list)
    files.push(
      await downloadFile(f, {
        maxBytes: spec.maxBytes,
        contentTypes: spec.contentTypes,
        hosts: ctx.fileHosts ?? BOTPRESS_FILE_HOSTS,
        rewrite: ctx.rewriteFileUrl,
      }),
    )
  const described = files.map((f) => `${f.name} (${f.contentType}, ${f.size} bytes)`).join(', ')
  switch (spec.as) {
    case 'base64': {
      const value = bodyExpr ? await bodyExpr.evaluate(context, { ...scope, files: base64Files(files) }) : undefined
      if (value === undefined) return undefined
      // Logs get the JSON without the file contents.
      const text = JSON.stringify(value)
      return {
        text: `${text.length > 2000 ? `${text.slice(0, 2000)}…` : text} [files: ${described}]`,
        contentType: 'application/json',
        bytes: Buffer.from(text),
      }
    }
    case 'binary': {
      const [file, ...more] = files
      if (!file || more.length) throw new DiagnosticError('UH-E062', `a binary upload sends exactly one file; this message has ${files.length}`)
      return { text: `binary: ${described}`, contentType: file.contentType, bytes: file.bytes }
    }
    case 'multipart': {
      const fields = bodyExpr ? await bodyExpr.evaluate(context, scope) : undefined
      const { bytes, contentType } = await multipartBody(fields, files, spec.field)
      return { text: `multipart fields ${JSON.stringify(fields ?? {})}, ${spec.field}: ${described}`, contentType, bytes }
    }
  }
}
