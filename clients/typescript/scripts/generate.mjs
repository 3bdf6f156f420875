// Generates TypeScript from the contract with protoc-gen-es into gen/ (gitignored):
//   npm run generate                       # protos/ of this repository -> gen/
//   npm run generate -- --protos DIR --out DIR
// protoc is grpc_tools.protoc from the project's virtual environment (make setup); it
// adds the google/protobuf/*.proto includes itself. Set PYTHON to use another interpreter.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(dirname(fileURLToPath(import.meta.url)));
const repo = resolve(here, '..', '..');

function option(name, fallback) {
  const at = process.argv.indexOf(name);
  return at >= 0 && process.argv[at + 1] ? resolve(process.argv[at + 1]) : fallback;
}

const protos = option('--protos', join(repo, 'protos'));
const out = option('--out', join(here, 'gen'));
const python = process.env.PYTHON || join(repo, '.venv', 'bin', 'python');
const plugin = join(here, 'node_modules', '.bin', 'protoc-gen-es');
if (!existsSync(plugin)) {
  console.error(`${plugin} is missing: run npm ci first`);
  process.exit(1);
}

const packageDir = join(protos, 'heap_destination', 'v1');
const files = readdirSync(packageDir)
  .filter((name) => name.endsWith('.proto'))
  .sort()
  .map((name) => join(packageDir, name));

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const run = spawnSync(
  python,
  [
    '-m', 'grpc_tools.protoc',
    `-I${protos}`,
    `--plugin=protoc-gen-es=${plugin}`,
    `--es_out=${out}`,
    // import_extension=js: the generated files import each other as "./x_pb.js", which
    // Node's ES modules (module NodeNext) need.
    '--es_opt=target=ts,import_extension=js',
    ...files,
  ],
  { stdio: 'inherit' },
);
if (run.error) {
  console.error(`cannot run ${python}: ${run.error.message}`);
  console.error('set PYTHON to a Python with grpcio-tools (make setup makes .venv/)');
  process.exit(1);
}
process.exit(run.status ?? 1);
