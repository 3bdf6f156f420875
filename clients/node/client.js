'use strict';
// A small Node.js client for the Heap destination service (heap_destination.v1).
//
// The contract is loaded from the repository's .proto files at run time, with the field
// names exactly as the .proto files spell them (keepCase): requests are plain objects
// such as {user_id, event, properties, message_id} or {account_id, properties}. Properties
// and traits may be plain JS objects; they are converted to google.protobuf.Struct here.

const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTOS_DIR = process.env.PROTOS_DIR
  ? path.resolve(process.env.PROTOS_DIR)
  : path.resolve(__dirname, '..', '..', 'protos');

const LOADER_OPTIONS = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

function loadService(protosDir = PROTOS_DIR) {
  const definition = protoLoader.loadSync('heap_destination/v1/service.proto', {
    ...LOADER_OPTIONS,
    includeDirs: [protosDir],
  });
  return grpc.loadPackageDefinition(definition).heap_destination.v1.HeapDestinationService;
}

// ---- plain JS values <-> google.protobuf.Struct / Value ----------------------------

function toValue(value) {
  if (value === null || value === undefined) return { nullValue: 'NULL_VALUE' };
  switch (typeof value) {
    case 'number':
      return { numberValue: value };
    case 'bigint':
      return { numberValue: Number(value) };
    case 'string':
      return { stringValue: value };
    case 'boolean':
      return { boolValue: value };
    case 'object':
      if (Array.isArray(value)) return { listValue: { values: value.map(toValue) } };
      if (value instanceof Date) return { stringValue: value.toISOString() };
      return { structValue: toStruct(value) };
    default:
      throw new TypeError(`cannot convert a ${typeof value} to a google.protobuf.Value`);
  }
}

function toStruct(object) {
  if (object === null || typeof object !== 'object' || Array.isArray(object)) {
    throw new TypeError('a google.protobuf.Struct is made from a plain object');
  }
  const fields = {};
  for (const [key, value] of Object.entries(object)) fields[key] = toValue(value);
  return { fields };
}

function fromValue(value) {
  if (!value) return null;
  switch (value.kind) {
    case 'numberValue':
      return value.numberValue;
    case 'stringValue':
      return value.stringValue;
    case 'boolValue':
      return value.boolValue;
    case 'listValue':
      return (value.listValue.values || []).map(fromValue);
    case 'structValue':
      return fromStruct(value.structValue);
    default:
      return null;
  }
}

function fromStruct(struct) {
  const object = {};
  for (const [key, value] of Object.entries((struct && struct.fields) || {})) {
    object[key] = fromValue(value);
  }
  return object;
}

function toTimestamp(moment) {
  if (!(moment instanceof Date)) return moment; // already {seconds, nanos}
  const millis = moment.getTime();
  const seconds = Math.floor(millis / 1000);
  return { seconds: String(seconds), nanos: (millis - seconds * 1000) * 1e6 };
}

// ---- google.rpc.Status details (grpc-status-details-bin), decoded by hand -----------

function readFields(buffer) {
  const fields = [];
  let offset = 0;
  const varint = () => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = buffer[offset++];
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return result;
      shift += 7n;
    }
  };
  while (offset < buffer.length) {
    const tag = Number(varint());
    const number = tag >>> 3;
    const wireType = tag & 7;
    if (wireType === 0) fields.push([number, varint()]);
    else if (wireType === 2) {
      const length = Number(varint());
      fields.push([number, buffer.subarray(offset, offset + length)]);
      offset += length;
    } else if (wireType === 1) offset += 8;
    else if (wireType === 5) offset += 4;
    else throw new Error(`unsupported wire type ${wireType}`);
  }
  return fields;
}

const text = (bytes) => Buffer.from(bytes).toString('utf8');

// What the service put in an error's google.rpc.Status: {code, message, reason, domain,
// metadata, field_violations: [{field, description}], retry_delay_seconds}.
function errorDetails(error) {
  const result = {
    code: error.code,
    message: error.details,
    reason: '',
    domain: '',
    metadata: {},
    field_violations: [],
    retry_delay_seconds: null,
  };
  const raw = error.metadata && error.metadata.get('grpc-status-details-bin')[0];
  if (!raw) return result;
  for (const [number, value] of readFields(raw)) {
    if (number !== 3) continue; // Status.details (Any)
    let typeUrl = '';
    let payload = Buffer.alloc(0);
    for (const [n, v] of readFields(value)) {
      if (n === 1) typeUrl = text(v);
      if (n === 2) payload = v;
    }
    const type = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
    const inner = readFields(payload);
    if (type === 'google.rpc.ErrorInfo') {
      for (const [n, v] of inner) {
        if (n === 1) result.reason = text(v);
        if (n === 2) result.domain = text(v);
        if (n === 3) {
          const entry = Object.fromEntries(readFields(v).map(([k, x]) => [k, text(x)]));
          result.metadata[entry[1] || ''] = entry[2] || '';
        }
      }
    } else if (type === 'google.rpc.BadRequest') {
      for (const [n, v] of inner) {
        if (n !== 1) continue;
        const violation = { field: '', description: '' };
        for (const [k, x] of readFields(v)) {
          if (k === 1) violation.field = text(x);
          if (k === 2) violation.description = text(x);
        }
        result.field_violations.push(violation);
      }
    } else if (type === 'google.rpc.RetryInfo') {
      for (const [n, v] of inner) {
        if (n !== 1) continue;
        let seconds = 0;
        for (const [k, x] of readFields(v)) {
          if (k === 1) seconds += Number(BigInt.asIntN(64, x));
          if (k === 2) seconds += Number(BigInt.asIntN(32, x)) / 1e9;
        }
        result.retry_delay_seconds = seconds;
      }
    }
  }
  return result;
}

// ---- the client ---------------------------------------------------------------------

function withStructs(request) {
  const converted = { ...request };
  for (const key of ['properties', 'traits']) {
    if (converted[key] !== undefined && converted[key] !== null && !converted[key].fields) {
      converted[key] = toStruct(converted[key]);
    }
  }
  if (converted.timestamp !== undefined) converted.timestamp = toTimestamp(converted.timestamp);
  return converted;
}

class HeapDestinationClient {
  // target: "host:port". Options: appId (used when a request carries no config),
  // credentials (default: insecure), token (a bearer token), deadlineMs (per unary call),
  // protosDir.
  constructor(target, options = {}) {
    const Service = loadService(options.protosDir);
    this.appId = options.appId || '';
    this.deadlineMs = options.deadlineMs || 30_000;
    this.metadata = new grpc.Metadata();
    if (options.token) this.metadata.set('authorization', `Bearer ${options.token}`);
    this.stub = new Service(target, options.credentials || grpc.credentials.createInsecure(), {
      'grpc.max_send_message_length': 16 * 1024 * 1024,
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
    });
  }

  _config(config) {
    if (config) return config;
    return this.appId ? { app_id: this.appId } : undefined;
  }

  _unary(method, request) {
    const deadline = new Date(Date.now() + this.deadlineMs);
    return new Promise((resolve, reject) => {
      this.stub[method](request, this.metadata, { deadline }, (error, response) =>
        error ? reject(error) : resolve(response),
      );
    });
  }

  // A TrackEventRequest: {user_id, event, properties, traits, message_id, ...}.
  // Resolves to the TrackEventResponse; rejects with a grpc ServiceError.
  track(request) {
    const message = withStructs({ ...request, config: this._config(request.config) });
    return this._unary('TrackEvent', message);
  }

  // An IdentifyUserRequest: {user_id, traits, heap_user_id, anonymous_id, ...}.
  identify(request) {
    const message = withStructs({ ...request, config: this._config(request.config) });
    return this._unary('IdentifyUser', message);
  }

  // An UpdateAccountRequest: {account_id, properties, message_id, config}. Sets the
  // account's properties in Heap (add_account_properties); resolves to the
  // UpdateAccountResponse (app_id, account_id, the flat properties sent, warnings).
  updateAccount(request) {
    const message = withStructs({ ...request, config: this._config(request.config) });
    return this._unary('UpdateAccount', message);
  }

  // Streams StreamEventsRequest messages ({events: [{id, track | identify | account}],
  // config}) (an array, or any sync or async iterable) and resolves to every EventResult once
  // the server ends the stream. Use inMessages() to group a flat list of events.
  async stream(messages) {
    const call = this.stub.StreamEvents(this.metadata);
    const results = [];
    const finished = new Promise((resolve, reject) => {
      call.on('data', (response) => results.push(...response.results));
      call.on('error', reject);
      call.on('end', resolve);
    });
    finished.catch(() => {}); // observed below; avoids an unhandled rejection meanwhile
    try {
      for await (const message of messages) {
        const converted = {
          ...message,
          events: (message.events || []).map((event) => {
            const out = { ...event };
            if (event.track) out.track = withStructs(event.track);
            if (event.identify) out.identify = withStructs(event.identify);
            if (event.account) out.account = withStructs(event.account);
            return out;
          }),
        };
        if (!call.write(converted)) {
          await Promise.race([
            new Promise((resolve) => call.once('drain', resolve)),
            finished,
          ]);
        }
      }
    } finally {
      call.end();
    }
    await finished;
    return results;
  }

  close() {
    this.stub.close();
  }
}

// Groups events into StreamEventsRequest messages of perMessage events; the first one
// carries config (when given).
function inMessages(events, perMessage = 250, config = undefined) {
  const messages = [];
  for (let start = 0; start < events.length; start += perMessage) {
    const message = { events: events.slice(start, start + perMessage) };
    if (start === 0 && config) message.config = config;
    messages.push(message);
  }
  return messages;
}

module.exports = {
  HeapDestinationClient,
  PROTOS_DIR,
  loadService,
  toStruct,
  toValue,
  fromStruct,
  fromValue,
  toTimestamp,
  errorDetails,
  inMessages,
  grpc,
};
