'use strict';
// Tests of launcher.js with fake binaries (node scripts) in temporary task folders:
//   node --test extension-manifest/launcher/launcher.test.js

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const zlib = require('zlib');
const { EventEmitter } = require('events');
const { spawn } = require('child_process');

const LAUNCHER = path.join(__dirname, 'launcher.js');
const { handleSignals } = require(LAUNCHER);

/** A task folder like the packaged one: task.json, launcher.js, and the given files. */
function taskFolder(t, files = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentpool-launcher-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'task.json'), JSON.stringify({ name: 'AgentPoolFake' }));
  fs.copyFileSync(LAUNCHER, path.join(dir, 'launcher.js'));
  for (const [relative, { content, mode }] of Object.entries(files)) {
    const file = path.join(dir, relative);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content, { mode: mode ?? 0o755 });
    fs.chmodSync(file, mode ?? 0o755);
  }
  return dir;
}

/** A fake binary: a node script that runs `body` with `args` and `env` at hand. */
function fakeBinary(body) {
  return `#!${process.execPath}\n'use strict';\nconst args = process.argv.slice(2);\nconst env = process.env;\n${body}\n`;
}

/** Runs `node <args>` in `cwd`; resolves with its exit code, signal and output. */
function run(args, { cwd, env = process.env, onStdout } = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (onStdout) onStdout(stdout, child);
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const launch = (dir, options) => run([path.join(dir, 'launcher.js')], { cwd: dir, ...options });

test('passes the environment through unchanged and runs `<binary> task <name>`', async (t) => {
  const dir = taskFolder(t, {
    'bin/linux-x64/agentpool': {
      content: fakeBinary(
        "console.log(JSON.stringify({ args, input: env.INPUT_PARAMETERSFILE, auth: env.ENDPOINT_AUTH_PARAMETER_X_SERVICEPRINCIPALKEY, secret: env.SECRET_TOKEN, tfBuild: env.TF_BUILD }));",
      ),
    },
  });
  const env = {
    ...process.env,
    INPUT_PARAMETERSFILE: 'yaml-templates/parameters/dev.parameters.linux.json',
    ENDPOINT_AUTH_PARAMETER_X_SERVICEPRINCIPALKEY: 'key; with ] and %',
    SECRET_TOKEN: 's3cret',
    TF_BUILD: 'True',
  };
  const result = await launch(dir, { env });
  assert.strictEqual(result.code, 0, result.stdout + result.stderr);
  assert.deepStrictEqual(JSON.parse(result.stdout), {
    args: ['task', 'AgentPoolFake'],
    input: env.INPUT_PARAMETERSFILE,
    auth: env.ENDPOINT_AUTH_PARAMETER_X_SERVICEPRINCIPALKEY,
    secret: 's3cret',
    tfBuild: 'True',
  });
});

test("relays the binary's exit code and its stdout/stderr", async (t) => {
  const dir = taskFolder(t, {
    'bin/linux-x64/agentpool': {
      content: fakeBinary("console.log('out line'); console.error('err line'); process.exitCode = 2;"),
    },
  });
  const result = await launch(dir);
  assert.strictEqual(result.code, 2);
  assert.strictEqual(result.stdout, 'out line\n');
  assert.strictEqual(result.stderr, 'err line\n');
});

test('a binary ended by a signal fails the task with the reason', async (t) => {
  const dir = taskFolder(t, {
    'bin/linux-x64/agentpool': { content: fakeBinary("process.kill(process.pid, 'SIGKILL');") },
  });
  const result = await launch(dir);
  assert.strictEqual(result.code, 1);
  assert.match(result.stdout, /##vso\[task\.logissue type=error;\]agentpool \(.*agentpool\) was ended by signal SIGKILL/);
  assert.match(result.stdout, /##vso\[task\.complete result=Failed;\]/);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  test(`${signal} is passed to the binary and the launcher waits until it has ended`, { timeout: 20000 }, async (t) => {
    const dir = taskFolder(t, {
      'bin/linux-x64/agentpool': {
        content: fakeBinary(`
process.on('${signal}', () => {
  console.log('cancelling');
  // Cancelling the Image Builder run takes a while; the launcher must still be there after it.
  setTimeout(() => { console.log('cancelled'); process.exit(7); }, 400);
});
console.log('ready');
// Without the signal, end on its own after a while (exit 99) instead of hanging the test.
setTimeout(() => process.exit(99), 5000);`),
      },
    });
    let sent = false;
    const started = Date.now();
    let signalledAt = 0;
    const result = await launch(dir, {
      onStdout: (stdout, launcher) => {
        if (!sent && stdout.includes('ready')) {
          sent = true;
          signalledAt = Date.now();
          launcher.kill(signal);
        }
      },
    });
    assert.ok(sent, result.stdout + result.stderr);
    assert.strictEqual(result.signal, null, 'the launcher was ended by the signal itself');
    assert.strictEqual(result.code, 7, result.stdout + result.stderr);
    assert.strictEqual(result.stdout, 'ready\ncancelling\ncancelled\n');
    assert.ok(Date.now() - signalledAt >= 350, `ended ${Date.now() - signalledAt} ms after ${signal}`);
    assert.ok(started <= signalledAt);
  });
}

test('on Windows the console signals are kept from ending the launcher but not passed on', () => {
  // The agent raises CTRL_C/CTRL_BREAK for the whole console, the binary included; Node's
  // child.kill() would terminate the binary outright there.
  const kills = [];
  const child = { kill: (s) => kills.push(s) };
  const windows = new EventEmitter();
  handleSignals(child, 'win32', windows);
  assert.deepStrictEqual(windows.eventNames().sort(), ['SIGBREAK', 'SIGINT', 'SIGTERM']);
  windows.emit('SIGINT');
  windows.emit('SIGBREAK');
  assert.deepStrictEqual(kills, []);

  const linux = new EventEmitter();
  handleSignals(child, 'linux', linux);
  assert.deepStrictEqual(linux.eventNames().sort(), ['SIGINT', 'SIGTERM']);
  linux.emit('SIGINT');
  linux.emit('SIGTERM');
  assert.deepStrictEqual(kills, ['SIGINT', 'SIGTERM']);
});

test('decompresses <binary>.br once, atomically, and makes it executable', async (t) => {
  const script = fakeBinary("console.log('from the compressed binary');");
  const dir = taskFolder(t, {
    'bin/linux-x64/agentpool.br': { content: zlib.brotliCompressSync(Buffer.from(script)), mode: 0o644 },
  });
  // Two jobs starting at once on the same task folder.
  const [first, second] = await Promise.all([launch(dir), launch(dir)]);
  for (const result of [first, second]) {
    assert.strictEqual(result.code, 0, result.stdout + result.stderr);
    assert.strictEqual(result.stdout, 'from the compressed binary\n');
  }
  const binary = path.join(dir, 'bin/linux-x64/agentpool');
  assert.strictEqual(fs.readFileSync(binary, 'utf8'), script);
  assert.strictEqual(fs.statSync(binary).mode & 0o777, 0o755);
  assert.deepStrictEqual(fs.readdirSync(path.dirname(binary)).sort(), ['agentpool', 'agentpool.br']);

  // Once there, the binary is used as it is: a later .br does not replace it.
  fs.writeFileSync(`${binary}.br`, zlib.brotliCompressSync(Buffer.from(fakeBinary("console.log('other');"))));
  assert.strictEqual((await launch(dir)).stdout, 'from the compressed binary\n');
});

test('restores the execute bit that unpacking a .vsix loses', async (t) => {
  const dir = taskFolder(t, {
    'bin/linux-x64/agentpool': { content: fakeBinary("console.log('ran');"), mode: 0o644 },
  });
  const result = await launch(dir);
  assert.strictEqual(result.code, 0, result.stdout + result.stderr);
  assert.strictEqual(result.stdout, 'ran\n');
  assert.strictEqual(fs.statSync(path.join(dir, 'bin/linux-x64/agentpool')).mode & 0o777, 0o755);
});

test('a missing binary fails the task naming the platform and the file looked for', async (t) => {
  const dir = taskFolder(t, {});
  const result = await launch(dir);
  assert.strictEqual(result.code, 1);
  const binary = path.join(dir, 'bin', 'linux-x64', 'agentpool');
  const message = `agentpool has no binary for linux/x64: neither ${binary} nor ${binary}.br exists in the task's folder.`;
  assert.strictEqual(
    result.stdout,
    `##vso[task.logissue type=error;]${message}\n##vso[task.complete result=Failed;]${message}\n`,
  );
});

/** Runs the launcher's main() in the task folder with a platform and arch of the test's choosing. */
function launchAs(dir, platform, arch) {
  const script = `require(${JSON.stringify(path.join(dir, 'launcher.js'))}).main({ platform: ${JSON.stringify(platform)}, arch: ${JSON.stringify(arch)} });`;
  return run(['-e', script], { cwd: dir });
}

test('an unsupported platform or arch fails the task and says which binaries there are', async (t) => {
  const dir = taskFolder(t, {
    'bin/linux-x64/agentpool': { content: fakeBinary("console.log('must not run');") },
  });
  for (const [platform, arch] of [
    ['darwin', 'arm64'],
    ['win32', 'arm64'],
    ['linux', 'ia32'],
  ]) {
    const result = await launchAs(dir, platform, arch);
    assert.strictEqual(result.code, 1, `${platform}/${arch}`);
    const lines = result.stdout.trimEnd().split('\n');
    assert.strictEqual(lines.length, 2, result.stdout);
    assert.ok(lines[0].startsWith(`##vso[task.logissue type=error;]agentpool does not run on ${platform}/${arch}: `), lines[0]);
    assert.ok(lines[0].includes('linux/x64 (bin/linux-x64/agentpool)'), lines[0]);
    assert.ok(lines[0].includes('win32/x64 (bin/windows-x64/agentpool.exe)'), lines[0]);
    assert.ok(lines[1].startsWith(`##vso[task.complete result=Failed;]agentpool does not run on ${platform}/${arch}: `), lines[1]);
  }
});

test('linux arm64 runs bin/linux-arm64/agentpool when it is packaged, and says so when not', async (t) => {
  const dir = taskFolder(t, {
    'bin/linux-arm64/agentpool': { content: fakeBinary("console.log('arm64 ' + args.join(' '));") },
  });
  const result = await launchAs(dir, 'linux', 'arm64');
  assert.strictEqual(result.code, 0, result.stdout + result.stderr);
  assert.strictEqual(result.stdout, 'arm64 task AgentPoolFake\n');

  fs.rmSync(path.join(dir, 'bin/linux-arm64'), { recursive: true });
  const missing = await launchAs(dir, 'linux', 'arm64');
  assert.strictEqual(missing.code, 1);
  assert.match(missing.stdout, /^##vso\[task\.logissue type=error;\]agentpool has no binary for linux\/arm64: neither .*bin\/linux-arm64\/agentpool nor .*agentpool\.br exists/);
});

test('a task folder without task.json fails the task', async (t) => {
  const dir = taskFolder(t, { 'bin/linux-x64/agentpool': { content: fakeBinary('') } });
  fs.rmSync(path.join(dir, 'task.json'));
  const result = await launch(dir);
  assert.strictEqual(result.code, 1);
  assert.match(result.stdout, /^##vso\[task\.logissue type=error;\]agentpool cannot read .*task\.json/);
});
