'use strict';
// Entry point of every agentpool task (the Node24 and Node20_1 handlers of task.json run it). The
// packaging copies this file into each task folder next to task.json and the native binaries:
//
//   task.json  launcher.js  bin/linux-x64/agentpool  bin/windows-x64/agentpool.exe  [bin/linux-arm64/agentpool]
//
// It starts `<binary> task <task name>` with the environment unchanged (the agent passes inputs as
// INPUT_*, service connections as ENDPOINT_*, secrets as SECRET_*), the agent's stdout/stderr, and
// relays the exit code. It loads nothing but Node's own modules: azure-pipelines-task-lib deletes
// INPUT_*, ENDPOINT_AUTH_* and SECRET_* from the environment when it loads, so the binary would not
// see them.
//
// Cancellation (the agent's ProcessInvoker): on Linux the agent sends SIGINT to this process, then
// SIGTERM 7.5 s later, then kills it 2.5 s after that; both signals are passed on to the binary and
// this process keeps waiting until the binary has ended (it cancels the Image Builder run first). On
// Windows the agent attaches to this process's console and raises CTRL_C, then CTRL_BREAK, for every
// process on that console, the binary included, so the binary already gets them: here they are only
// kept from ending this process. Passing them on would be wrong there: Node's child.kill() on
// Windows terminates the process outright.

const fs = require('fs');
const path = require('path');
const childProcess = require('child_process');

// The binary for each supported platform/arch, relative to the task folder. linux-arm64 ships only
// when the packaging built it.
const BINARIES = {
  'linux/x64': 'bin/linux-x64/agentpool',
  'win32/x64': 'bin/windows-x64/agentpool.exe',
  'linux/arm64': 'bin/linux-arm64/agentpool',
};

class LaunchError extends Error {}

/** Escapes a logging command's message the way the agent unescapes it. */
function escapeData(text) {
  return String(text).replace(/%/g, '%AZP25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Writes synchronously: a pipe's asynchronous write would be lost by process.exit on Windows. */
function writeLine(fd, line) {
  try {
    fs.writeSync(fd, line + '\n');
  } catch (_) {
    // Nothing left to tell it to.
  }
}

function fail(message) {
  writeLine(1, `##vso[task.logissue type=error;]${escapeData(message)}`);
  writeLine(1, `##vso[task.complete result=Failed;]${escapeData(message)}`);
  process.exit(1);
}

/** The task's name, from task.json beside this file. */
function taskName(taskDir) {
  const file = path.join(taskDir, 'task.json');
  let task;
  try {
    task = JSON.parse(fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new LaunchError(`agentpool cannot read ${file}: ${e.message}`);
  }
  if (typeof task.name !== 'string' || task.name === '') {
    throw new LaunchError(`agentpool: ${file} has no task name`);
  }
  return task.name;
}

/**
 * The path of the binary for this platform/arch, decompressed from `<binary>.br` first when only
 * that is there, and executable. Throws a LaunchError naming the platform/arch and the file.
 */
function resolveBinary(taskDir, platform, arch) {
  const relative = BINARIES[`${platform}/${arch}`];
  if (!relative) {
    const supported = Object.entries(BINARIES)
      .map(([key, file]) => `${key} (${file})`)
      .join(', ');
    throw new LaunchError(
      `agentpool does not run on ${platform}/${arch}: this task has binaries for ${supported} only. ` +
        'Run it on a Linux x64 or Windows x64 agent.',
    );
  }
  const binary = path.join(taskDir, ...relative.split('/'));
  if (!fs.existsSync(binary)) {
    if (fs.existsSync(`${binary}.br`)) {
      decompress(`${binary}.br`, binary);
    } else {
      throw new LaunchError(
        `agentpool has no binary for ${platform}/${arch}: neither ${binary} nor ${binary}.br exists in the task's folder.`,
      );
    }
  }
  if (platform !== 'win32') {
    ensureExecutable(binary);
  }
  return binary;
}

/**
 * Decompresses `source` (brotli) into `target` through a temporary file in the same folder, then
 * renames it into place: atomic, so two jobs that start at once both end up with a whole binary.
 */
function decompress(source, target) {
  const zlib = require('zlib');
  const temporary = `${target}.${process.pid}.${Date.now()}.tmp`;
  try {
    const data = zlib.brotliDecompressSync(fs.readFileSync(source));
    fs.writeFileSync(temporary, data, { mode: 0o755 });
  } catch (e) {
    removeQuietly(temporary);
    throw new LaunchError(`agentpool cannot decompress ${source} to ${target}: ${e.message}`);
  }
  try {
    fs.renameSync(temporary, target);
  } catch (e) {
    removeQuietly(temporary);
    // On Windows a binary that another job already runs cannot be replaced; it is the same one.
    if (!fs.existsSync(target)) {
      throw new LaunchError(`agentpool cannot move the decompressed binary to ${target}: ${e.message}`);
    }
  }
}

function removeQuietly(file) {
  try {
    fs.unlinkSync(file);
  } catch (_) {
    // Already gone.
  }
}

/** Unpacking a .vsix loses the execute bits. */
function ensureExecutable(binary) {
  try {
    if ((fs.statSync(binary).mode & 0o111) !== 0o111) {
      fs.chmodSync(binary, 0o755);
    }
  } catch (e) {
    throw new LaunchError(`agentpool cannot make ${binary} executable: ${e.message}`);
  }
}

/**
 * Keeps the agent's cancellation signals from ending this process while the binary runs, and on
 * platforms other than Windows passes them on to it (see the top of this file).
 */
function handleSignals(child, platform, proc = process) {
  const signals = platform === 'win32' ? ['SIGINT', 'SIGBREAK', 'SIGTERM'] : ['SIGINT', 'SIGTERM'];
  const forward = platform !== 'win32';
  for (const signal of signals) {
    proc.on(signal, () => {
      if (forward) {
        try {
          child.kill(signal);
        } catch (_) {
          // The binary has already ended; its exit is on its way.
        }
      }
    });
  }
}

/**
 * Runs the task. `options` exist for the tests: the platform and arch (default: this process's)
 * and the task folder (default: this file's folder).
 */
function main(options = {}) {
  const platform = options.platform || process.platform;
  const arch = options.arch || process.arch;
  const taskDir = options.taskDir || __dirname;
  let binary;
  let name;
  try {
    name = taskName(taskDir);
    binary = resolveBinary(taskDir, platform, arch);
  } catch (e) {
    if (e instanceof LaunchError) {
      fail(e.message);
      return;
    }
    throw e;
  }

  const child = childProcess.spawn(binary, ['task', name], {
    stdio: 'inherit',
    env: process.env,
    windowsHide: true,
  });
  handleSignals(child, platform);
  child.on('error', (e) => fail(`agentpool could not start ${binary}: ${e.message}`));
  child.on('exit', (code, signal) => {
    if (code !== null) {
      process.exit(code);
    }
    fail(`agentpool (${binary}) was ended by signal ${signal}`);
  });
}

module.exports = { main, resolveBinary, handleSignals, taskName, BINARIES };

if (require.main === module) {
  main();
}
