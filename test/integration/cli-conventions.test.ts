/**
 * The command line behaves as people expect (issue 9): per-command help and short aliases, every value checked before
 * any work, exit codes a script can rely on, output-side failures said as such (which file, which operation, what to
 * do), damaged result.json files named, hostile file names escaped and duplicate names told apart, the CSV formula
 * guard, and SIGTERM. Each spawns dist/cli.js on a few small synthetic models.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { before, describe, test } from 'node:test';
import { commandHelp } from '../../src/cli/args';
import { COMMANDS as SPECS } from '../../src/cli/commands';
import { main } from '../../src/cli/main';
import { base, extraKeys, finetune, layout, materialize } from '../fixtures/synth';
import { tmpDir } from '../helpers/tmp';

const CLI = resolve(__dirname, '../../dist/cli.js');
const root = tmpDir('modeldiff-cli-conventions-');
const cli = (...args: string[]): SpawnSyncReturns<string> => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: root, timeout: 60_000 });
const models = join(root, 'models');
const out = join(root, 'out');
const isRoot = process.getuid?.() === 0;

/** main() in this process (no spawn: fast), with what it prints. */
async function inProcess(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const write = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
  let stdout = '';
  let stderr = '';
  process.stdout.write = ((s: string) => ((stdout += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((stderr += s), true)) as typeof process.stderr.write;
  try {
    return { status: await main(args), stdout, stderr };
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
  }
}

const COMMANDS = ['compare', 'merge', 'layers', 'pair', 'inspect', 'breakdown', 'recipe', 'hashes', 'health', 'family', 'lineage', 'analyze', 'report', 'charts', 'attribute'];
const HOSTILE = 'm\n  fake.safetensors: identical\x1b]0;pwned\x07.safetensors';

before(() => {
  const L = layout('sd15', { scale: 64 });
  const b = base(L, 1);
  mkdirSync(join(models, 'a'), { recursive: true });
  mkdirSync(join(models, 'b'), { recursive: true });
  // a tensor name a spreadsheet would run as a formula
  materialize(extraKeys(b, [{ name: '=HYPERLINK("http://x","y")', shape: [2], dtype: 'F32' }]), join(models, 'a', 'm000.safetensors'));
  materialize(finetune(b, { components: ['unet'], sigma: 0.01, seed: 2 }), join(models, 'b', 'm000.safetensors'));
  materialize(b, join(models, 'a', HOSTILE));
  const r = cli('compare', join(models, 'a'), join(models, 'b'), '-q', '-o', out);
  assert.equal(r.status, 0, r.stderr);
});

describe('help, aliases and values', () => {
  test('every command has --help and -h: its usage, options with their aliases, and the exit codes; -V and help <command>', async () => {
    assert.deepEqual(SPECS.map((c) => c.spec.name), COMMANDS);
    for (const { spec } of SPECS) {
      const help = commandHelp(spec);
      assert.match(help, new RegExp(`^Usage: modeldiff ${spec.name} `), spec.name);
      assert.match(help, /^Options:$/m, spec.name);
      assert.match(help, /^ {2}-h, --help /m, spec.name);
      assert.match(help, /^Exit codes:\n {2}0 .*\n {2}1 .*\n(.*\n)* {2}130 .*143/m, spec.name);
      const r = await inProcess(spec.name, '--help');
      assert.equal(r.status, 0, `${spec.name}: ${r.stderr}`);
      assert.equal(r.stdout, help + '\n');
    }
    const spawned = cli('report', '--help');
    assert.equal(spawned.status, 0);
    assert.match(spawned.stdout, /^Usage: modeldiff report /);
    const h = cli('compare', '-h');
    assert.equal(h.status, 0);
    assert.match(h.stdout, /-o, --out <dir>/);
    assert.match(h.stdout, /-w, --workers <N> +worker threads, 0 to 64/);
    assert.match(h.stdout, /--fresh +compute every pair: reuse neither the earlier result in <dir> nor the checkpoint/);
    assert.equal(cli('layers', out, 'x', 'y', '-h').status, 0, '-h wins over the arguments');
    assert.match(cli('-V').stdout, /^\d+\.\d+\.\d+\n$/);
    assert.match(cli('--version').stdout, /^\d+\.\d+\.\d+\n$/);
    assert.match(cli('help', 'layers').stdout, /^Usage: modeldiff layers <dir> <modelA> <modelB>/);
    const top = cli('--help');
    assert.equal(top.status, 0);
    for (const c of COMMANDS) assert.match(top.stdout, new RegExp(`^ {2}${c} +\\S`, 'm'));
    const none = cli();
    assert.equal(none.status, 2);
    assert.match(none.stderr, /^Usage: modeldiff <command>/m);
  });

  test('short aliases work and are never taken for file names', () => {
    const q = cli('compare', join(models, 'b'), join(models, 'a'), '-qo', join(root, 'alias-out'), '-w', '0', '-c', 'unet,te');
    assert.equal(q.status, 0, q.stderr);
    assert.equal(q.stdout, '', '-q: no summary');
    const result = JSON.parse(readFileSync(join(root, 'alias-out', 'result.json'), 'utf8'));
    assert.deepEqual(result.components, ['unet', 'te']);
    assert.equal(result.options.workers, 0);
    const t = cli('layers', out, 'a/m000.safetensors', 'b/m000.safetensors', '-s', 'l2', '-n', '2', '-c', 'unet');
    assert.equal(t.status, 0, t.stderr);
    assert.equal(t.stdout.trim().split('\n').length, 4);
    const j = cli('inspect', join(models, 'b', 'm000.safetensors'), '-j');
    assert.equal(JSON.parse(j.stdout).file, 'm000.safetensors');
  });

  test('every value is checked before any work; a bad one exits 2, says what is accepted, and creates nothing', async () => {
    const cases: [string[], RegExp][] = [
      [['compare', models, '--out', '--json'], /--out needs a value, and the next word is an option/],
      [['compare', models, '-o', 'x', '--components', 'txt'], /--components: no component "txt"; components are unet, transformer, te, te0, te1, clip_l, clip_g, t5xxl, vae, ema, other/],
      [['compare', models, '-o', 'x', '--workers', '99'], /--workers is a whole number from 0 to 64, not "99"/],
      [['compare', models, '-o', 'x', '--memory', '1x'], /--memory is a whole number from 16 to 1048576, not "1x"/],
      [['compare', models, '-o', 'x', '--component', 'unet'], /unknown option --component \(did you mean --components\?\)/],
      [['compare', models, '-o', 'x', '--cache', 'c.json', '--no-cache', '--hashes'], /--cache and --no-cache contradict/],
      [['compare', models], /--out <dir> is required/],
      [['layers', out, '0', '1', '--component', 'foo'], /--component: no component "foo" in this result \(it has unet, te, vae, ema, other\)/],
      [['layers', out, '0', '1', '--top', '0'], /--top is a whole number 1 or more, not "0"/],
      [['layers', out, '0', '1', '--sort', 'size'], /--sort is one of name, l2, not "size"/],
      [['layers', out, '0'], /missing argument: modeldiff layers <dir> <modelA> <modelB>/],
      [['layers', out, '0', '1', '2'], /unexpected argument "2"/],
      [['layers', out, 'm000', '1'], /"m000" matches several models: a\/m000\.safetensors \(\d\), b\/m000\.safetensors \(\d\)/],
      [['family', out, '--component', 'nope'], /no component "nope" in this result/],
      [['recipe', out, '0', '--count', '99'], /--count is a whole number from 1 to 6/],
      [['breakdown', out, '0', '1', '--by', 'nope'], /--by is one of block, type, vae, te, not "nope"/],
      [['breakdown', out, '0', '1', '--matrix'], /--matrix takes the folder only/],
      [['report', out, '--layers-budget', '-1'], /--layers-budget needs a value, and the next word is an option/],
      [['charts', out, '--width', '10'], /--width is a whole number from 320 to 8000, not "10"/],
      [['inspect', '-q'], /unknown option -q/],
    ];
    const spawned = cli('compare', models, '--out', '--json');
    assert.equal(spawned.status, 2);
    assert.match(spawned.stderr, /--out needs a value/);
    for (const [args, message] of cases) {
      const r = await inProcess(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.match(r.stderr, /Try `modeldiff \w+ --help`/, args.join(' '));
      assert.equal(r.stdout, '', args.join(' '));
    }
    assert.deepEqual(readdirSync(root).sort(), ['alias-out', 'models', 'out'].filter((d) => existsSync(join(root, d))).sort(), 'no folder named --json');
    assert.equal(existsSync(resolve('x')), false, 'no output folder x');
  });

  test('--csv may stand alone (standard output), name a file, or be "-"; the CSV has the spreadsheet-formula guard', () => {
    const alone = cli('layers', out, 'a/m000', 'b/m000', '--csv');
    const dash = cli('layers', out, 'a/m000', 'b/m000', '--csv', '-', '-c', 'other');
    const file = join(root, 'pair.csv');
    const named = cli('layers', out, 'a/m000', 'b/m000', '--csv', file, '-c', 'other');
    for (const r of [alone, dash, named]) assert.equal(r.status, 0, r.stderr);
    assert.match(alone.stdout, /^key,component,l2,cosine\r\n/);
    for (const csv of [dash.stdout, readFileSync(file, 'utf8')]) {
      assert.match(csv, /^"'=HYPERLINK\(""http:\/\/x"",""y""\)",other,,\r$/m, 'a formula-like name is quoted with a leading apostrophe');
    }
  });
});

describe('exit codes', () => {
  test('nothing to compare (no models, one model, one readable of two) is 3; a missing input is 2; neither creates the output folder', () => {
    const empty = join(root, 'empty');
    const readme = join(root, 'readme-only');
    const single = join(root, 'single');
    const broken = join(root, 'broken');
    for (const d of [empty, readme, single, broken]) mkdirSync(d, { recursive: true });
    writeFileSync(join(readme, 'README.txt'), 'no models here');
    copyFileSync(join(models, 'b', 'm000.safetensors'), join(single, 'one.safetensors'));
    copyFileSync(join(models, 'b', 'm000.safetensors'), join(broken, 'good.safetensors'));
    writeFileSync(join(broken, 'bad.safetensors'), Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    const cases: [string[], number, RegExp][] = [
      [[empty], 3, /nothing to compare: no model files in .*empty \(looked for \.safetensors/],
      [[readme], 3, /nothing to compare: no model files in/],
      [[single], 3, /nothing to compare: only one model file in .*single/],
      [[broken], 3, /nothing to compare: 1 readable model of 2 files[^\n]*\n {2}\S*bad\.safetensors: /],
      [[join(root, 'nope')], 2, /\S*nope does not exist/],
      [[single, join(root, 'nope.safetensors')], 2, /nope\.safetensors does not exist/],
    ];
    for (const [inputs, code, message] of cases) {
      const dest = join(root, `out-${code}-${inputs.length}-${readdirSync(root).length}`);
      const r = cli('compare', ...inputs, '-o', dest);
      assert.equal(r.status, code, `${inputs.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(existsSync(dest), false, `${inputs.join(' ')}: no output folder`);
    }
  });

  test('SIGTERM cancels a run like Ctrl-C and exits 143, with no result written', async () => {
    const dest = join(root, 'sigterm-out');
    const child = spawn(process.execPath, [CLI, 'compare', models, join(models, 'a'), join(models, 'b'), '-o', dest, '--hashes', '--no-cache'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    // the handler is installed before the run touches the output folder (its staging folder, or the folder itself)
    const started = Date.now();
    while (!existsSync(dest) && !existsSync(dest + '.partial') && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 5));
    child.kill('SIGTERM');
    const code = await exited;
    assert.equal(code, 143, stderr);
    assert.match(stderr, /cancelled/);
    assert.equal(existsSync(join(dest, 'result.json')), false);
  });
});

describe('output-side failures', () => {
  test('an output folder that cannot be made is refused before any work, without hanging (/proc), naming the option', () => {
    for (const [dest, message] of [
      ['/proc/modeldiff-test/out', /--out \/proc\/modeldiff-test\/out cannot be written: \/proc does not accept new files or folders/],
      ['/proc', /--out \/proc cannot be written/],
      [join(models, 'b', 'm000.safetensors'), /--out \S+m000\.safetensors is a file, not a folder/],
    ] as const) {
      const r = cli('compare', join(models, 'b'), join(models, 'a'), '-o', dest);
      assert.equal(r.status, 2, `${dest}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    const csv = cli('layers', out, '0', '1', '--csv', '/proc/modeldiff-test.csv');
    assert.equal(csv.status, 2);
    assert.match(csv.stderr, /--csv \/proc\/modeldiff-test\.csv cannot be written/);
  });

  test('a full disk is said as a failed write of that file, with what to do; a device or FIFO is written into, not replaced', { skip: !isRoot && 'mknod needs root' }, () => {
    const dev = join(root, 'dev');
    mkdirSync(dev, { recursive: true });
    const full = join(dev, 'full');
    assert.equal(spawnSync('mknod', [full, 'c', '1', '7']).status, 0);
    const r = cli('layers', out, '0', '1', '--csv', full);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /^modeldiff layers: \S+\/dev\/full: cannot write the file: no space left on the device \(ENOSPC\)\n {2}free some space, or write somewhere else\.\n$/);
    assert.ok(readdirSync(dev).length === 1, 'the device is still a device, no temporary file beside it');
    assert.equal(spawnSync('test', ['-c', full]).status, 0, 'still a character device');
  });

  test('compare into a full file system names the file it could not write', { skip: !isRoot && 'mount needs root' }, (t) => {
    const small = join(root, 'small');
    mkdirSync(small, { recursive: true });
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=96k', 'tmpfs', small]).status !== 0) return t.skip('no tmpfs mount here');
    try {
      const r = cli('compare', join(models, 'a'), join(models, 'b'), '-q', '-o', join(small, 'out'));
      assert.equal(r.status, 3, r.stderr);
      assert.match(r.stderr, /: cannot (write|create|finish|replace)[^\n]*: no space left on the device \(ENOSPC\)/);
      assert.match(r.stderr, /\/small\/out\S*: /, 'names the file');
      assert.match(r.stderr, /\n {2}free some space, or write somewhere else\./);
      assert.doesNotMatch(r.stderr, /cannot read|file not found|not a model/);
    } finally {
      spawnSync('umount', [small]);
    }
  });
});

describe('result.json read by the other commands', () => {
  test('a foreign, damaged or newer result.json is refused with a message naming it (exit 3)', () => {
    const good = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
    const variants: [string, string, RegExp][] = [
      ['empty-object', '{}', /not a modeldiff result: it has no schemaVersion and no tool name/],
      ['not-json', 'garbage', /not a modeldiff result: not valid JSON/],
      ['newer', JSON.stringify({ ...good, schemaVersion: 99 }), /written by a newer modeldiff .*schema version 99; this one reads version 1: update modeldiff/],
      ['no-arch', JSON.stringify({ ...good, models: good.models.map((m: Record<string, unknown>) => ({ ...m, arch: undefined })) }), /does not match schema\/result\.schema\.json \(\$\.models\[0\]: missing arch/],
      ['no-pairs', JSON.stringify({ ...good, pairs: [] }), /damaged: 0 pairs for 3 models \(3 expected\)/],
    ];
    for (const [name, text, message] of variants) {
      const dir = join(root, `result-${name}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'result.json'), text);
      const commands = name === 'empty-object' ? [['layers', dir, '0', '1'], ['health', dir], ['report', dir, '-q', '--no-analysis']] : [['layers', dir, '0', '1']];
      for (const args of commands) {
        const r = cli(...args);
        assert.equal(r.status, 3, `${name} ${args[0]}: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`^modeldiff ${args[0]}: \\S+result-${name}/result\\.json: `), `${name} ${args[0]}`);
        assert.match(r.stderr, message, `${name} ${args[0]}`);
        assert.doesNotMatch(r.stderr, /Cannot read properties|undefined/);
      }
    }
  });
});

describe('names', () => {
  test('file names with newlines or escape sequences are printed escaped; two m000.safetensors are told apart everywhere', () => {
    const r = cli('compare', join(models, 'a'), join(models, 'b'), '-o', join(root, 'names-out'));
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!r.stdout.includes('\x1b'), 'no escape sequence reaches the terminal');
    assert.doesNotMatch(r.stdout, /^ {2}fake\.safetensors/m, 'no faked summary line');
    assert.ok(r.stdout.includes('m\\n  fake.safetensors: identical\\x1b]0;pwned\\x07.safetensors'), 'the name is shown with visible escapes');
    assert.match(r.stdout, /^ {2}a\/m000\.safetensors {2}vs {2}b\/m000\.safetensors$/m);
    assert.doesNotMatch(r.stdout, /m000\.safetensors {2}vs {2}m000\.safetensors/);
    const result = JSON.parse(readFileSync(join(root, 'names-out', 'result.json'), 'utf8'));
    assert.deepEqual(result.models.map((m: { displayName: string }) => m.displayName).sort(), [HOSTILE, 'a/m000.safetensors', 'b/m000.safetensors'].sort());
    const map = JSON.parse(readFileSync(join(root, 'names-out', 'model_map_v2.json'), 'utf8'));
    assert.deepEqual(map.ml, result.models.map((m: { displayName: string }) => m.displayName));
    const t = cli('layers', join(root, 'names-out'), 'a/m000', 'b/m000', '-n', '1');
    assert.match(t.stdout, /^a\/m000\.safetensors {2}vs {2}b\/m000\.safetensors\n/);
    const bad = cli('layers', join(root, 'names-out'), '0', 'nothing-like-this');
    assert.ok(!bad.stderr.includes('\x1b') && !bad.stderr.includes('\x07'), bad.stderr);
    const csv = cli('breakdown', join(root, 'names-out'), '--matrix', '--csv');
    assert.equal(csv.status, 0, csv.stderr);
    assert.ok(csv.stdout.split('\r\n')[0]!.includes('a/m000.safetensors vs b/m000.safetensors'), csv.stdout.split('\r\n')[0]);
  });
});
