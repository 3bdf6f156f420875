// Sends calls through the real @segment/analytics-node SDK, as a service would, and prints
// what happened as JSON: each call's error (null when delivered) and each HTTP answer.
//
// Usage: node send.js < calls.json, where calls.json is
//   {"host": "http://127.0.0.1:PORT", "writeKey": "...", "calls": [{"method": "track", "params": {...}}]}
// and each call's params are the SDK method's own (userId, event, properties, context,
// timestamp, messageId, ...). All calls go in one batch (flushAt is their count).
'use strict';

const { Analytics } = require('@segment/analytics-node');

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

async function main() {
  const { host, writeKey, calls } = await readStdin();
  const analytics = new Analytics({
    writeKey,
    host,
    path: '/v1/batch',
    flushAt: calls.length,
    maxRetries: 3,
  });
  const answers = [];
  analytics.on('error', () => {}); // each call's callback reports its own failure
  analytics.on('http_response', (response) => answers.push({ status: response.status, url: response.url }));
  const outcomes = calls.map(
    ({ method, params }) =>
      new Promise((resolve) => {
        const withDate = params.timestamp ? { ...params, timestamp: new Date(params.timestamp) } : params;
        analytics[method](withDate, (error) => resolve(error ? String(error.reason ?? error) : null));
      }),
  );
  const errors = await Promise.all(outcomes);
  await analytics.closeAndFlush({ timeout: 30000 });
  process.stdout.write(JSON.stringify({ errors, answers }) + '\n');
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error) + '\n');
  process.exit(1);
});
