#!/usr/bin/env node
// Runs the bundled command-line tool, building it first in a fresh checkout.
const { existsSync } = require('node:fs')
const { join } = require('node:path')
const { execFileSync } = require('node:child_process')

const root = join(__dirname, '..')
const cli = join(root, 'dist', 'cli.cjs')
if (!existsSync(cli)) execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' })
require(cli)
