'use strict';
// Checks the Node client against a real running service and Heap simulator:
//   SERVICE_TARGET=127.0.0.1:50051 SIMULATOR_URL=http://127.0.0.1:8787 node --test test/
//
// Every field a request sets is asserted either in the response or in what the simulator
// received, so a field renamed in the .proto files (which proto-loader would silently
// drop from a plain object) makes a test fail.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { randomUUID } = require('node:crypto');
const { HeapDestinationClient, errorDetails, fromStruct, inMessages } = require('../client');

const SERVICE_TARGET = process.env.SERVICE_TARGET;
const SIMULATOR_URL = (process.env.SIMULATOR_URL || '').replace(/\/+$/, '');
const APP_ID = '1234567890';

let client;

before(() => {
  assert.ok(SERVICE_TARGET, 'set SERVICE_TARGET (host:port of the running service)');
  assert.ok(SIMULATOR_URL, 'set SIMULATOR_URL (http://host:port of the running simulator)');
  client = new HeapDestinationClient(SERVICE_TARGET);
});

after(() => client && client.close());

async function clearSimulator() {
  const response = await fetch(`${SIMULATOR_URL}/_sim/requests`, { method: 'DELETE' });
  assert.ok(response.ok, `DELETE /_sim/requests answered ${response.status}`);
}

async function simulatorRequests(path) {
  const response = await fetch(`${SIMULATOR_URL}/_sim/requests`);
  assert.ok(response.ok, `GET /_sim/requests answered ${response.status}`);
  const requests = await response.json();
  return path ? requests.filter((request) => request.path === path) : requests;
}

const FLATTENING_EXAMPLE = {
  foo: {
    bar: {
      cheese: 'american',
      prop: [1, 2, 3],
      products: [{ A: 'Jello' }, { B: 'Peanut' }],
    },
  },
};
const FLATTENING_EXAMPLE_FLAT = {
  'foo.bar.cheese': 'american',
  'foo.bar.prop': '[1,2,3]',
  'foo.bar.products': '[{"A":"Jello"},{"B":"Peanut"}]',
};

test('track: nested properties are flattened and delivered as sent', async () => {
  await clearSimulator();
  const userId = `node-user-${randomUUID()}`;
  const messageId = randomUUID();
  const sessionId = `session-${randomUUID()}`;
  const when = new Date('2026-11-27T12:00:00.250Z');

  const response = await client.track({
    config: { app_id: APP_ID },
    user_id: userId,
    event: 'Signed Up',
    properties: FLATTENING_EXAMPLE,
    traits: { plan: 'pro', seats: 3 },
    timestamp: when,
    message_id: messageId,
    session_id: sessionId,
  });

  assert.equal(response.app_id, APP_ID);
  assert.equal(response.identity, userId);
  assert.equal(response.event, 'Signed Up');
  assert.deepEqual(fromStruct(response.properties), FLATTENING_EXAMPLE_FLAT);
  for (const key of Object.keys(FLATTENING_EXAMPLE_FLAT)) {
    assert.equal(response.properties.fields[key].kind, 'stringValue', key);
  }
  assert.deepEqual(fromStruct(response.user_properties), { plan: 'pro', seats: 3 });
  assert.equal(response.idempotency_key, messageId);
  assert.deepEqual(response.timestamp, { seconds: String(Math.floor(when.getTime() / 1000)), nanos: 250e6 });
  assert.deepEqual(response.warnings, []);

  const tracks = await simulatorRequests('/api/track');
  assert.equal(tracks.length, 1, JSON.stringify(tracks));
  assert.deepEqual(tracks[0].body, {
    app_id: APP_ID,
    events: [
      {
        identity: userId,
        event: 'Signed Up',
        properties: FLATTENING_EXAMPLE_FLAT,
        idempotency_key: messageId,
        timestamp: '2026-11-27T12:00:00.250Z',
        session_id: sessionId,
      },
    ],
  });
  const users = await simulatorRequests('/api/add_user_properties');
  assert.equal(users.length, 1, JSON.stringify(users));
  assert.deepEqual(users[0].body, {
    app_id: APP_ID,
    users: [{ identity: userId, properties: { plan: 'pro', seats: 3 } }],
  });
});

test('identify: traits and heap_user_id reach Heap', async () => {
  await clearSimulator();
  const userId = `node-identify-${randomUUID()}`;
  const anonymousId = `anon-${randomUUID()}`;
  const when = new Date('2026-11-27T12:30:00.000Z');
  const traits = { email: 'jo@example.com', plan: 'team', address: { city: 'Oslo' }, vip: true };
  const flatTraits = {
    email: 'jo@example.com',
    plan: 'team',
    'address.city': 'Oslo',
    vip: 'true',
    anonymous_id: anonymousId,
  };

  const response = await client.identify({
    config: { app_id: APP_ID },
    user_id: userId,
    anonymous_id: anonymousId,
    traits,
    heap_user_id: '42',
    timestamp: when,
  });

  assert.equal(response.app_id, APP_ID);
  assert.equal(response.identity, userId);
  assert.equal(response.heap_user_id, '42');
  assert.deepEqual(fromStruct(response.user_properties), flatTraits);
  assert.deepEqual(response.warnings, []);

  const users = await simulatorRequests('/api/add_user_properties');
  assert.equal(users.length, 1, JSON.stringify(users));
  assert.equal(users[0].body.app_id, APP_ID);
  assert.equal(users[0].body.users.length, 1);
  assert.equal(users[0].body.users[0].identity, userId);
  assert.deepEqual(users[0].body.users[0].properties, flatTraits);

  const identifies = await simulatorRequests('/api/v1/identify');
  assert.equal(identifies.length, 1, JSON.stringify(identifies));
  assert.deepEqual(identifies[0].body, {
    app_id: APP_ID,
    identity: userId,
    user_id: '42',
    timestamp: '2026-11-27T12:30:00.000Z',
  });
  assert.equal((await simulatorRequests('/api/track')).length, 0);
});

test('stream: 1000 events in messages of 250 each get one OK result', { timeout: 120_000 }, async () => {
  await clearSimulator();
  const run = randomUUID();
  const events = Array.from({ length: 1000 }, (_, i) => ({
    id: `${run}-${i}`,
    track: {
      user_id: `stream-user-${i % 10}`,
      event: 'Streamed',
      properties: { n: i, tags: ['a', 'b'] },
      message_id: `${run}-message-${i}`,
    },
  }));
  const byMessageId = new Map(events.map((event) => [event.track.message_id, event.track]));

  const messages = inMessages(events, 250, { app_id: APP_ID });
  assert.equal(messages.length, 4);
  const results = await client.stream(messages);

  assert.equal(results.length, 1000);
  const seen = new Map();
  for (const result of results) seen.set(result.id, (seen.get(result.id) || 0) + 1);
  for (const event of events) assert.equal(seen.get(event.id), 1, `results for ${event.id}`);
  for (const result of results) {
    assert.equal(result.code, 0, `${result.id}: ${result.reason} ${result.message}`);
    assert.equal(result.message, '');
    assert.equal(result.reason, '');
    assert.equal(result.error_reason, 'ERROR_REASON_UNSPECIFIED');
    assert.deepEqual(result.field_violations, []);
    assert.deepEqual(result.warnings, []);
  }

  const tracks = await simulatorRequests('/api/track');
  const delivered = [];
  for (const request of tracks) {
    assert.equal(request.body.app_id, APP_ID);
    delivered.push(...request.body.events);
  }
  assert.equal(delivered.length, 1000);
  assert.deepEqual(
    new Set(delivered.map((event) => event.idempotency_key)),
    new Set(byMessageId.keys()),
  );
  for (const event of delivered) {
    const sent = byMessageId.get(event.idempotency_key);
    assert.deepEqual(event, {
      identity: sent.user_id,
      event: 'Streamed',
      properties: { n: sent.properties.n, tags: '["a","b"]' },
      idempotency_key: sent.message_id,
    });
  }
});

test('stream: a bad event gets its own typed error and the good one is delivered', async () => {
  await clearSimulator();
  const run = randomUUID();
  const events = [
    { id: `${run}-good`, track: { user_id: 'u1', event: 'Streamed', message_id: `${run}-good` } },
    { id: `${run}-bad`, track: { user_id: '', event: 'Streamed' } },
  ];

  const results = await client.stream(inMessages(events, 10, { app_id: APP_ID }));

  const byId = new Map(results.map((result) => [result.id, result]));
  assert.equal(byId.size, 2);
  assert.equal(byId.get(`${run}-good`).code, 0);
  const bad = byId.get(`${run}-bad`);
  assert.equal(bad.code, 3);
  assert.equal(bad.reason, 'INVALID_EVENT');
  assert.equal(bad.error_reason, 'ERROR_REASON_INVALID_EVENT');
  assert.deepEqual(bad.field_violations.map((violation) => violation.field), ['user_id']);
  const tracks = await simulatorRequests('/api/track');
  assert.deepEqual(
    tracks.flatMap((request) => request.body.events.map((event) => event.idempotency_key)),
    [`${run}-good`],
  );
});

test('a track without user_id is INVALID_ARGUMENT naming user_id', async () => {
  await clearSimulator();
  const error = await client
    .track({ config: { app_id: APP_ID }, user_id: '', event: 'Signed Up' })
    .then(
      () => assert.fail('the call succeeded'),
      (failure) => failure,
    );
  assert.equal(error.code, 3, String(error));
  assert.match(error.details, /user_id/);
  const details = errorDetails(error);
  assert.equal(details.reason, 'INVALID_EVENT');
  assert.equal(details.domain, 'heap-destination.v1');
  assert.ok(
    details.field_violations.some((violation) => violation.field === 'user_id'),
    JSON.stringify(details.field_violations),
  );
  assert.deepEqual(await simulatorRequests(), []);
});

const ACCOUNT_PROPERTIES = {
  plan: 'enterprise',
  billing: { country: 'NO', seats: 25, annual: true, contacts: [{ name: 'Jo' }] },
  tags: ['beta', 'eu'],
};
const ACCOUNT_PROPERTIES_FLAT = {
  plan: 'enterprise',
  'billing.country': 'NO',
  'billing.seats': 25,
  'billing.annual': 'true',
  'billing.contacts': '[{"name":"Jo"}]',
  tags: '["beta","eu"]',
};

test('updateAccount: nested properties are flattened and delivered as sent', async () => {
  await clearSimulator();
  const accountId = `node-account-${randomUUID()}`;

  const response = await client.updateAccount({
    config: { app_id: APP_ID },
    account_id: accountId,
    properties: ACCOUNT_PROPERTIES,
    // Not echoed anywhere a test can see (logs and the store only): Heap's account calls
    // take no idempotency key.
    message_id: randomUUID(),
  });

  assert.equal(response.app_id, APP_ID);
  assert.equal(response.account_id, accountId);
  assert.deepEqual(fromStruct(response.properties), ACCOUNT_PROPERTIES_FLAT);
  assert.equal(response.properties.fields['billing.seats'].kind, 'numberValue');
  assert.equal(response.properties.fields.tags.kind, 'stringValue');
  assert.deepEqual(response.warnings, []);
  assert.equal(response.unlisted_warnings, 0);
  assert.equal(response.properties_echo_omitted, false);

  const accounts = await simulatorRequests('/api/add_account_properties');
  assert.equal(accounts.length, 1, JSON.stringify(accounts));
  assert.deepEqual(accounts[0].body, {
    app_id: APP_ID,
    accounts: [{ account_id: accountId, properties: ACCOUNT_PROPERTIES_FLAT }],
  });
  assert.deepEqual(
    (await simulatorRequests()).filter((request) => request.path !== '/api/add_account_properties'),
    [],
  );
});

for (const [label, accountId] of [
  ['an empty', ''],
  ['a blank', ' \t\u200b '],
]) {
  test(`an updateAccount with ${label} account_id is INVALID_ARGUMENT naming account_id`, async () => {
    await clearSimulator();
    const error = await client
      .updateAccount({ config: { app_id: APP_ID }, account_id: accountId, properties: { plan: 'pro' } })
      .then(
        () => assert.fail('the call succeeded'),
        (failure) => failure,
      );
    assert.equal(error.code, 3, String(error));
    assert.match(error.details, /account_id/);
    const details = errorDetails(error);
    assert.equal(details.reason, 'INVALID_EVENT');
    assert.equal(details.domain, 'heap-destination.v1');
    assert.deepEqual(
      details.field_violations.map((violation) => violation.field),
      ['account_id'],
    );
    assert.deepEqual(await simulatorRequests(), []);
  });
}

test('stream: account events next to a track, each with its own result', async () => {
  await clearSimulator();
  const run = randomUUID();
  const accounts = Array.from({ length: 50 }, (_, i) => ({
    id: `${run}-account-${i}`,
    account: {
      account_id: `${run}-acct-${i}`,
      properties: { n: i, owner: { team: `team-${i % 3}` }, regions: ['eu', 'us'] },
      message_id: `${run}-account-${i}`,
    },
  }));
  const events = [
    ...accounts,
    { id: `${run}-no-account-id`, account: { account_id: '', properties: { n: -1 } } },
    { id: `${run}-no-properties`, account: { account_id: `${run}-empty`, properties: {} } },
    { id: `${run}-track`, track: { user_id: 'u1', event: 'Streamed', message_id: `${run}-track` } },
  ];

  const results = await client.stream(inMessages(events, 20, { app_id: APP_ID }));

  const byId = new Map(results.map((result) => [result.id, result]));
  assert.equal(results.length, events.length);
  assert.equal(byId.size, events.length);
  for (const event of [...accounts, events[events.length - 1]]) {
    const result = byId.get(event.id);
    assert.equal(result.code, 0, `${event.id}: ${result.reason} ${result.message}`);
    assert.equal(result.error_reason, 'ERROR_REASON_UNSPECIFIED');
    assert.deepEqual(result.warnings, []);
  }
  const noAccountId = byId.get(`${run}-no-account-id`);
  assert.equal(noAccountId.code, 3);
  assert.equal(noAccountId.error_reason, 'ERROR_REASON_INVALID_EVENT');
  assert.deepEqual(noAccountId.field_violations.map((violation) => violation.field), ['account_id']);
  const noProperties = byId.get(`${run}-no-properties`);
  assert.equal(noProperties.code, 3);
  assert.deepEqual(noProperties.field_violations.map((violation) => violation.field), ['properties']);

  const delivered = [];
  for (const request of await simulatorRequests('/api/add_account_properties')) {
    assert.equal(request.body.app_id, APP_ID);
    delivered.push(...request.body.accounts);
  }
  const expected = accounts.map((event, i) => ({
    account_id: event.account.account_id,
    properties: { n: i, 'owner.team': `team-${i % 3}`, regions: '["eu","us"]' },
  }));
  const byAccount = (a, b) => a.account_id.localeCompare(b.account_id);
  assert.deepEqual([...delivered].sort(byAccount), [...expected].sort(byAccount));
  const tracks = await simulatorRequests('/api/track');
  assert.deepEqual(
    tracks.flatMap((request) => request.body.events.map((event) => event.idempotency_key)),
    [`${run}-track`],
  );
});
