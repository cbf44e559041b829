#!/usr/bin/env node
'use strict';
// Raises the extension's version and every task's version together:
//
//   node extension-manifest/bump-version.js 1.2.0          that version
//   node extension-manifest/bump-version.js --patch        1.2.0 -> 1.2.1
//   node extension-manifest/bump-version.js --minor        1.2.3 -> 1.3.0
//   node extension-manifest/bump-version.js --major        1.2.3 -> 2.0.0
//   node extension-manifest/bump-version.js --check        the versions agree (exit 1 if not)
//
// vss-extension.json's "version" is "major.minor.patch"; each tasks/<Name>/task.json has "version":
// {"Major", "Minor", "Patch"}. All must agree before the bump, and the new version must be greater
// than the current one: the Marketplace refuses an extension whose version does not grow, and an
// agent keeps a task whose version it already has. Only the version numbers change in the files;
// everything else, formatting included, stays byte for byte (checked after the edit).

const fs = require('fs');
const path = require('path');
const assert = require('assert');

const manifestDir = __dirname;

function fail(message) {
  process.stderr.write(`bump-version: ${message}\n`);
  process.exit(1);
}

function parseVersion(text) {
  const match = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/.exec(text);
  if (!match) return null;
  return match.slice(1, 4).map(Number);
}

function compare(a, b) {
  for (let i = 0; i < 3; i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return 0;
}

const show = (v) => v.join('.');

function readJson(file) {
  const text = fs.readFileSync(file, 'utf8');
  try {
    return { text, json: JSON.parse(text.replace(/^\uFEFF/, '')) };
  } catch (e) {
    fail(`${file}: ${e.message}`);
  }
}

/** The version of vss-extension.json and of each task.json, as files to rewrite. */
function load() {
  const extensionFile = path.join(manifestDir, 'vss-extension.json');
  const extension = readJson(extensionFile);
  const extensionVersion = parseVersion(String(extension.json.version));
  if (!extensionVersion) fail(`${extensionFile}: "version" is ${JSON.stringify(extension.json.version)}, not major.minor.patch`);
  const files = [{ file: extensionFile, kind: 'extension', ...extension, version: extensionVersion }];
  const tasksDir = path.join(manifestDir, 'tasks');
  for (const name of fs.readdirSync(tasksDir).sort()) {
    const file = path.join(tasksDir, name, 'task.json');
    if (!fs.existsSync(file)) continue;
    const task = readJson(file);
    const v = task.json.version || {};
    const version = [v.Major, v.Minor, v.Patch].map(Number);
    if (!version.every((n) => Number.isInteger(n) && n >= 0)) {
      fail(`${file}: "version" is ${JSON.stringify(task.json.version)}, not {"Major", "Minor", "Patch"}`);
    }
    files.push({ file, kind: 'task', ...task, version });
  }
  if (files.length === 1) fail(`no task.json under ${tasksDir}`);
  return files;
}

/** The file's text with only its version changed; throws when the edit did more or less. */
function rewrite(entry, next) {
  let text;
  if (entry.kind === 'extension') {
    // The top-level "version" is the first one at one indentation level deeper than the object.
    const pattern = /^(\s*"version"\s*:\s*")(\d+\.\d+\.\d+)(")/m;
    text = entry.text.replace(pattern, (_, a, __, c) => a + show(next) + c);
  } else {
    const pattern = /("version"\s*:\s*\{[^{}]*\})/;
    text = entry.text.replace(pattern, (block) =>
      block
        .replace(/("Major"\s*:\s*)("?)\d+("?)/, (_, a, q1, q2) => a + q1 + next[0] + q2)
        .replace(/("Minor"\s*:\s*)("?)\d+("?)/, (_, a, q1, q2) => a + q1 + next[1] + q2)
        .replace(/("Patch"\s*:\s*)("?)\d+("?)/, (_, a, q1, q2) => a + q1 + next[2] + q2),
    );
  }
  const expected = JSON.parse(JSON.stringify(entry.json));
  if (entry.kind === 'extension') {
    expected.version = show(next);
  } else {
    for (const [key, n] of [['Major', next[0]], ['Minor', next[1]], ['Patch', next[2]]]) {
      expected.version[key] = typeof entry.json.version[key] === 'string' ? String(n) : n;
    }
  }
  const actual = JSON.parse(text.replace(/^\uFEFF/, ''));
  try {
    assert.deepStrictEqual(actual, expected);
  } catch (_) {
    fail(`${entry.file}: could not change only the version; edit it by hand`);
  }
  return text;
}

function main(args) {
  if (args.length !== 1 || args[0] === '-h' || args[0] === '--help') {
    process.stdout.write(
      'usage: bump-version.js <major.minor.patch> | --major | --minor | --patch | --check\n',
    );
    process.exit(args.length === 1 ? 0 : 2);
  }
  const files = load();
  const current = files[0].version;
  const disagree = files.filter((f) => compare(f.version, current) !== 0);
  if (disagree.length > 0) {
    fail(
      `the versions disagree: ${files.map((f) => `${path.relative(manifestDir, f.file)} ${show(f.version)}`).join(', ')}`,
    );
  }
  const arg = args[0];
  if (arg === '--check') {
    process.stdout.write(`${show(current)} in ${files.length} files\n`);
    return;
  }
  let next;
  if (arg === '--major') next = [current[0] + 1, 0, 0];
  else if (arg === '--minor') next = [current[0], current[1] + 1, 0];
  else if (arg === '--patch') next = [current[0], current[1], current[2] + 1];
  else {
    next = parseVersion(arg);
    if (!next) fail(`'${arg}' is not a version major.minor.patch (or --major, --minor, --patch)`);
  }
  if (compare(next, current) <= 0) {
    fail(`${show(next)} is not greater than the current version ${show(current)}`);
  }
  // Every file is checked before any is written.
  const texts = files.map((entry) => rewrite(entry, next));
  files.forEach((entry, i) => fs.writeFileSync(entry.file, texts[i]));
  process.stdout.write(`${show(current)} -> ${show(next)} in ${files.length} files\n`);
}

main(process.argv.slice(2));
