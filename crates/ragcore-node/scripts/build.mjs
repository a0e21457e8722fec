#!/usr/bin/env node
// Builds the addon and regenerates `index.js` and `index.d.ts` with @napi-rs/cli's own
// generators (the `generateTypeDef` and `writeJsBinding` that `napi build` runs).
//
//   node scripts/build.mjs            # dev profile (default)
//   node scripts/build.mjs --release  # release profile
//
// Why not `napi build` itself: it always passes `--target <triple>` to cargo, which puts every
// artifact under `target/<triple>/` and rebuilds the whole dependency graph there. This script
// runs cargo without `--target`, so the addon lands in the workspace `./target/debug` next to
// the artifacts of `cargo test` and `cargo clippy`.
//
// Cargo scope (RAGCORE_NODE_CARGO_SCOPE):
//   workspace (default)  `cargo build --workspace --lib --examples --keep-going`: the features of
//                        every dependency are unified exactly as in `cargo test` (all members,
//                        dev-dependencies included, which `--examples` switches on), so after a
//                        `cargo test` only the addon itself is compiled. The other members'
//                        libraries are built too; if one of them fails (ragcore-py needs a
//                        Python 3 with its shared library, as `cargo test` does) but the addon
//                        was built, the script warns and carries on.
//   package              `cargo build -p ragcore-node`: the fewest crates, but dependency
//                        features differ from `cargo test`'s, so ~40 crates (serde, hyper,
//                        ragcore ...) are compiled a second time.
import { spawnSync, execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

import { generateTypeDef, parseTriple, readNapiConfig, writeJsBinding } from '@napi-rs/cli'

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const release = process.argv.includes('--release')
const manifest = realpathSync(join(pkgDir, 'Cargo.toml'))

const metadata = JSON.parse(
  execFileSync('cargo', ['metadata', '--format-version', '1', '--no-deps', '--manifest-path', manifest], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  }),
)
const crate = metadata.packages.find((p) => p.manifest_path === manifest)
if (!crate) throw new Error(`no package with manifest ${manifest} in cargo metadata`)
if (!crate.targets.some((t) => t.crate_types.includes('cdylib'))) throw new Error(`${crate.name} has no cdylib target`)
const targetDir = metadata.target_directory

// napi-derive writes one type-def file per crate into this folder while compiling. A stable
// folder keeps the environment identical between builds, so nothing recompiles needlessly;
// when the file is missing the crate is forced to recompile to write it.
const typeDefDir = join(targetDir, 'napi-rs', `${crate.name}-type-def`)
mkdirSync(typeDefDir, { recursive: true })
const env = { ...process.env, NAPI_TYPE_DEF_TMP_FOLDER: typeDefDir }
if (!existsSync(join(typeDefDir, crate.name))) {
  env[`NAPI_FORCE_BUILD_${crate.name.replace(/-/g, '_').toUpperCase()}`] = String(Date.now())
}

const scope = process.env.RAGCORE_NODE_CARGO_SCOPE ?? 'workspace'
if (!['workspace', 'package'].includes(scope)) {
  throw new Error(`RAGCORE_NODE_CARGO_SCOPE must be 'workspace' or 'package', not ${JSON.stringify(scope)}`)
}
const args =
  scope === 'workspace'
    ? ['build', '--workspace', '--lib', '--examples', '--keep-going']
    : ['build', '--package', crate.name]
args.push('--manifest-path', manifest, '--message-format', 'json-render-diagnostics')
if (release) args.push('--release')
console.error(`$ cargo ${args.join(' ')}`)
// Progress and diagnostics go to stderr; stdout carries one JSON message per line, among them
// the path of the addon (also when it was already up to date).
const cargo = spawnSync('cargo', args, {
  cwd: pkgDir,
  env,
  stdio: ['inherit', 'pipe', 'inherit'],
  encoding: 'utf8',
  maxBuffer: 256 * 1024 * 1024,
})
if (cargo.error) throw cargo.error
const source = cargo.stdout
  .split('\n')
  .filter((line) => line.startsWith('{'))
  .map((line) => JSON.parse(line))
  .filter((m) => m.reason === 'compiler-artifact' && m.package_id === crate.id && m.target.kind.includes('cdylib'))
  .flatMap((m) => m.filenames)
  .find((f) => /\.(so|dylib|dll)$/.test(f))
if (!source) {
  console.error(`error: cargo did not build the ${crate.name} addon (see above)`)
  process.exit(cargo.status || 1)
}
if (cargo.status !== 0) {
  console.error(`warning: cargo failed on another workspace member (see above); the ${crate.name} addon itself was built`)
}

const config = await readNapiConfig(join(pkgDir, 'package.json'))
const hostTriple = /host: (\S+)/.exec(execFileSync('rustc', ['-vV'], { encoding: 'utf8' }))?.[1]
if (!hostTriple) throw new Error('cannot read the host triple from `rustc -vV`')
const target = parseTriple(hostTriple)

const addon = join(pkgDir, `${config.binaryName}.${target.platformArchABI}.node`)
copyFileSync(source, addon)

const { exports, dts } = await generateTypeDef({
  typeDefDir,
  cwd: pkgDir,
  configDtsHeader: config.dtsHeader,
  configDtsHeaderFile: config.dtsHeaderFile,
  constEnum: config.constEnum,
  runtimeStringEnum: config.runtimeStringEnum,
  declareBindingTarget: true,
})
const dtsPath = join(pkgDir, 'index.d.ts')
if (!existsSync(dtsPath) || readFileSync(dtsPath, 'utf8') !== dts) writeFileSync(dtsPath, dts)
await writeJsBinding({
  platform: true,
  idents: exports,
  binaryName: config.binaryName,
  packageName: config.packageName,
  version: config.packageJson.version,
  outputDir: pkgDir,
})
console.error(`built ${addon} (${release ? 'release' : 'dev'} profile), index.js, index.d.ts`)
