'use strict';
// Node's side of agentpool-bench's upload benchmark: uploads one file with @azure/storage-blob's
// BlockBlobClient.uploadFile (pinned in tests/node) and prints the timings as one JSON line:
// {"md5": s, "head": s, "upload": s}. md5 and head redo what agentpool's uploader does before it
// sends (MD5 of the file, blob properties) so the two can be compared on the same work.
//
// Environment: BENCH_NODE_DIR (tests/node), BENCH_BLOB_URL, BENCH_TOKEN (an Entra token for blob
// storage), BENCH_FILE, BENCH_BLOCK_SIZE, BENCH_CONCURRENCY, NODE_EXTRA_CA_CERTS (the blob
// service's CA).

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { createRequire } = require('node:module');

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const requireTools = createRequire(path.join(env('BENCH_NODE_DIR'), 'package.json'));
const { BlockBlobClient } = requireTools('@azure/storage-blob');

async function md5Of(file) {
  const hash = crypto.createHash('md5');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk);
  return hash.digest();
}

async function main() {
  const token = env('BENCH_TOKEN');
  // A TokenCredential that returns the token agentpool-bench fetched from the emulator's Entra.
  const credential = { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3600 * 1000 }) };
  const client = new BlockBlobClient(env('BENCH_BLOB_URL'), credential);
  const file = env('BENCH_FILE');
  const blockSize = Number(env('BENCH_BLOCK_SIZE'));
  const concurrency = Number(env('BENCH_CONCURRENCY'));
  const seconds = (since) => Number(process.hrtime.bigint() - since) / 1e9;

  let began = process.hrtime.bigint();
  const md5 = await md5Of(file);
  const md5Seconds = seconds(began);

  began = process.hrtime.bigint();
  await client.exists();
  const headSeconds = seconds(began);

  began = process.hrtime.bigint();
  // As agentpool's uploader: blocks of blockSize, concurrency in flight, one shot only when the
  // file fits in one block.
  await client.uploadFile(file, {
    blockSize,
    concurrency,
    maxSingleShotSize: blockSize,
    blobHTTPHeaders: { blobContentMD5: md5 },
  });
  const uploadSeconds = seconds(began);
  process.stdout.write(JSON.stringify({ md5: md5Seconds, head: headSeconds, upload: uploadSeconds }) + '\n');
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
