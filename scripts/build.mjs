// Builds like `bp build` does (contract reference §7.1), without the Botpress CLI:
// .botpress/dist/index.cjs (default export = the integration, named export `handler`),
// plus the command-line tool, the sandbox and the benchmark as CommonJS bundles under dist/.
import { build } from 'esbuild'
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { deflateRawSync } from 'node:zlib'
import { generateSources } from './generate-sources.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const outputs = {
  integration: join(root, '.botpress/dist/index.cjs'),
  cli: join(root, 'dist/cli.cjs'),
  sandbox: join(root, 'dist/sandbox.cjs'),
  bench: join(root, 'dist/bench.cjs'),
  // The benchmark's hand-written baseline, bundled exactly like the integration (src/bench/baseline).
  baseline: join(root, 'dist/bench-baseline/index.cjs'),
}
/** What each input adds to the integration bundle, for the benchmark's dependency table. */
export const integrationMetafile = join(root, 'dist/integration.meta.json')

function newest(dir) {
  let t = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs)
  }
  return t
}

function stale() {
  const inputs = Math.max(
    newest(join(root, 'src')),
    newest(join(root, 'mappings')),
    newest(join(root, 'schemas')),
    statSync(join(root, 'integration.definition.ts')).mtimeMs,
  )
  return Object.values(outputs).some((o) => !existsSync(o) || statSync(o).mtimeMs < inputs)
}

const common = {
  bundle: true,
  platform: 'node',
  target: 'es2020',
  minify: false,
  keepNames: true,
  legalComments: 'none',
  logLevel: 'warning',
  logOverride: { 'equals-negative-zero': 'silent' },
  absWorkingDir: root,
  write: true,
}

/**
 * The shipped mappings as the integration bundle carries them: each checked by the real loader here (the build
 * fails with its `line:column` problems), then kept as a plain value without comments or fixtures, so a worker
 * neither parses their YAML nor runs the schema check (src/mapping/loadMapping.ts, compileResolved).
 */
async function leanShippedMappings() {
  const { outputFiles } = await build({
    ...common,
    entryPoints: [join(root, 'src/mapping/loadMapping.ts')],
    write: false,
    format: 'cjs',
    outfile: 'loader.cjs',
    logLevel: 'silent',
  })
  const loaderFile = join(tmpdir(), `universal-hitl-loader-${process.pid}.cjs`)
  writeFileSync(loaderFile, outputFiles[0].text)
  const require = createRequire(import.meta.url)
  const loader = require(loaderFile)
  const { parse } = require('yaml')
  const texts = {}
  const files = []
  for (const name of loader.shippedMappingNames()) {
    const { text, file } = loader.resolveMappingText(name)
    try {
      loader.compileMappingText(text, file)
    } catch (e) {
      throw new Error(`${file} is not a valid mapping:\n${e.message}`)
    }
    const { fixtures: _fixtures, ...value } = parse(text)
    files.push(file)
    texts[name] = JSON.stringify(value)
  }
  // Compressed (about a fifth of the size): the bundle is what every cold worker reads and compiles. A mapping's
  // text is inflated on first use, all of them at once (a millisecond or two), and kept.
  const blob = deflateRawSync(Buffer.from(JSON.stringify(texts)), { level: 9 }).toString('base64')
  const names = JSON.stringify(Object.keys(texts))
  return [
    `import { inflateRawSync } from 'node:zlib'`,
    `let texts`,
    `const all = () => (texts ??= JSON.parse(inflateRawSync(Buffer.from(${JSON.stringify(blob)}, 'base64')).toString('utf8')))`,
    `export const shippedMappings = Object.defineProperties({}, Object.fromEntries(${names}.map((n) => [n, { enumerable: true, get: () => all()[n] }])))`,
    `export const prevalidatedMappings = ${JSON.stringify(files)}`,
    '',
  ].join('\n')
}

/** esbuild plugin: the integration imports the lean shipped mappings instead of the generated YAML texts. */
const leanMappingsPlugin = (contents) => ({
  name: 'lean-shipped-mappings',
  setup(b) {
    b.onResolve({ filter: /shippedMappings\.generated$/ }, () => ({ path: 'shipped-mappings', namespace: 'lean' }))
    b.onLoad({ filter: /.*/, namespace: 'lean' }, () => ({ contents, loader: 'js' }))
  },
})

/** An integration bundle as `bp build` makes it: default export = the integration, named export `handler`. */
const integrationBuild = (entry, outfile, extra = {}) =>
  build({
    ...common,
    stdin: {
      contents: `import integration from '${entry}'\nexport default integration\nexport const handler = integration.handler\n`,
      loader: 'ts',
      resolveDir: root,
    },
    outfile,
    // `bp build` minifies by default; `--no-minify` keeps it readable for debugging.
    minify: !process.argv.includes('--no-minify'),
    ...extra,
  })

export async function buildAll() {
  generateSources()
  mkdirSync(dirname(integrationMetafile), { recursive: true })
  await Promise.all([
    integrationBuild('./src/index', outputs.integration, { metafile: true, plugins: [leanMappingsPlugin(await leanShippedMappings())] }).then((r) =>
      writeFileSync(integrationMetafile, JSON.stringify(r.metafile)),
    ),
    integrationBuild('./src/bench/baseline/index', outputs.baseline),
    build({ ...common, entryPoints: [join(root, 'src/cli/main.ts')], outfile: outputs.cli }),
    build({ ...common, entryPoints: [join(root, 'src/sandbox/main.ts')], outfile: outputs.sandbox }),
    build({ ...common, entryPoints: [join(root, 'src/bench/main.ts')], outfile: outputs.bench }),
  ])
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--if-stale') && !stale()) process.exit(0)
  const started = Date.now()
  await buildAll()
  const size = statSync(outputs.integration).size
  console.error(
    `built .botpress/dist/index.cjs (${(size / 1024).toFixed(0)} KiB), dist/cli.cjs, dist/sandbox.cjs, dist/bench.cjs in ${Date.now() - started} ms`,
  )
}
