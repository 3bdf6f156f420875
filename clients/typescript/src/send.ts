// Sends Heap's flattening example as a track, an identify with traits and a stream of
// events to the Heap destination service, with the client generated from protos/ by
// protoc-gen-es (npm run generate) and Connect's gRPC transport for Node.js.
//
//   node dist/src/send.js [TARGET] [APP_ID]
//
// TARGET is the service's host:port (or SERVICE_TARGET; default 127.0.0.1:50051), APP_ID
// the Heap app id (or HEAP_APP_ID; default: the server's). STREAM_EVENTS sets the number of
// streamed events (default 1000). Prints a JSON summary on stdout; exits 1 when any call
// or event was not OK, after printing its code and ErrorReason on stderr.
import { randomUUID } from 'node:crypto';

import type { MessageInitShape } from '@bufbuild/protobuf';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import { ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';

import { ErrorReason } from '../gen/heap_destination/v1/errors_pb.js';
import { HeapDestinationService } from '../gen/heap_destination/v1/service_pb.js';
import type {
  EventResult,
  EventSchema,
  StreamEventsRequestSchema,
} from '../gen/heap_destination/v1/stream_pb.js';

const target = process.argv[2] ?? process.env.SERVICE_TARGET ?? '127.0.0.1:50051';
const appId = process.argv[3] ?? process.env.HEAP_APP_ID ?? '';
const streamEvents = Number(process.env.STREAM_EVENTS ?? '1000');
if (!Number.isSafeInteger(streamEvents) || streamEvents < 0) {
  console.error(`STREAM_EVENTS must be a whole number, not ${process.env.STREAM_EVENTS}`);
  process.exit(2);
}
const BATCH = 250;
const TIMEOUT_MS = 60_000;

// Heap's documented flattening example, sent nested; the service flattens it to
// {"foo.bar.cheese": "american", "foo.bar.prop": "[1,2,3]"}.
const FLATTENING_EXAMPLE = { foo: { bar: { cheese: 'american', prop: [1, 2, 3] } } };
const STREAM_EVENT = 'Streamed';
const TRAITS = { plan: 'pro', seats: 3, company: { name: 'Acme' } };

const transport = createGrpcTransport({ baseUrl: `http://${target}` });
const client = createClient(HeapDestinationService, transport);
const config = appId ? { appId } : undefined;

/** The reason of a unary call's google.rpc.ErrorInfo detail, typed as an ErrorReason. */
function errorReasonOf(error: ConnectError): ErrorReason | undefined {
  for (const detail of error.details) {
    if (!('type' in detail) || detail.type !== 'google.rpc.ErrorInfo') {
      continue;
    }
    const reader = new BinaryReader(detail.value);
    while (reader.pos < reader.len) {
      const [field, wireType] = reader.tag();
      if (field === 1) {
        // ERROR_REASON_X is the ErrorInfo reason "X"; protoc-gen-es drops the prefix.
        return ErrorReason[reader.string() as keyof typeof ErrorReason];
      }
      reader.skip(wireType);
    }
  }
  return undefined;
}

interface Failure {
  call: string;
  code: number;
  error_reason: string;
  message: string;
}
const failures: Failure[] = [];

/** Runs one unary call; on an error, records its code and ErrorReason and returns null. */
async function unary<T>(call: string, run: () => Promise<T>): Promise<T | null> {
  try {
    return await run();
  } catch (thrown) {
    const error = ConnectError.from(thrown);
    const reason = errorReasonOf(error);
    failures.push({
      call,
      code: error.code,
      error_reason: reason === undefined ? 'none' : ErrorReason[reason],
      message: error.rawMessage,
    });
    return null;
  }
}

type StreamEventsRequestInit = MessageInitShape<typeof StreamEventsRequestSchema>;

async function* batches(runId: string): AsyncGenerator<StreamEventsRequestInit> {
  for (let start = 0; start < streamEvents; start += BATCH) {
    // Typed, so that tsc checks every field name against the generated code.
    const events: MessageInitShape<typeof EventSchema>[] = [];
    for (let n = start; n < Math.min(start + BATCH, streamEvents); n++) {
      events.push({
        id: `e${n}`,
        kind: {
          case: 'track',
          value: {
            // Spread over users: Heap allows one identity 1,000 events a minute.
            userId: `${runId}-user-${n % 100}`,
            event: STREAM_EVENT,
            messageId: `${runId}-${n}`,
            properties: { run: runId, n },
          },
        },
      });
    }
    // The config of the first message applies to every later one.
    yield start === 0 && config ? { events, config } : { events };
  }
}

interface Streamed {
  ok: number;
  failed: EventResult[];
  unanswered: number;
}

async function stream(runId: string): Promise<Streamed> {
  const pending = new Set(Array.from({ length: streamEvents }, (_, n) => `e${n}`));
  const failed: EventResult[] = [];
  let ok = 0;
  for await (const response of client.streamEvents(batches(runId), { timeoutMs: TIMEOUT_MS })) {
    for (const result of response.results) {
      if (!pending.delete(result.id)) {
        throw new Error(`a result for ${result.id}, which has none pending`);
      }
      if (result.code === 0 /* OK */) {
        ok++;
      } else {
        failed.push(result);
      }
    }
  }
  return { ok, failed, unanswered: pending.size };
}

async function main(): Promise<number> {
  const runId = randomUUID();

  const track = await unary('TrackEvent', () =>
    client.trackEvent(
      {
        config,
        userId: 'u1',
        event: 'Signed Up',
        properties: FLATTENING_EXAMPLE,
        messageId: `${runId}-track`,
      },
      { timeoutMs: TIMEOUT_MS },
    ),
  );
  const identify = await unary('IdentifyUser', () =>
    client.identifyUser({ config, userId: 'u1', traits: TRAITS }, { timeoutMs: TIMEOUT_MS }),
  );
  const streamed = await unary('StreamEvents', () => stream(runId));
  for (const result of streamed?.failed ?? []) {
    // error_reason is the typed reason each non-OK result carries.
    failures.push({
      call: `StreamEvents event ${result.id}`,
      code: result.code,
      error_reason: ErrorReason[result.errorReason] ?? String(result.errorReason),
      message: result.message,
    });
  }
  if (streamed !== null && streamed.unanswered > 0) {
    failures.push({
      call: 'StreamEvents',
      code: -1,
      error_reason: 'none',
      message: `${streamed.unanswered} events got no result`,
    });
  }
  for (const failure of failures) {
    const { call, code, error_reason, message } = failure;
    console.error(`${call}: code ${code}, error_reason ${error_reason}: ${message}`);
  }

  const summary = {
    target,
    run_id: runId,
    track: track && {
      app_id: track.appId,
      identity: track.identity,
      event: track.event,
      properties: track.properties ?? {},
      idempotency_key: track.idempotencyKey,
    },
    identify: identify && {
      app_id: identify.appId,
      identity: identify.identity,
      user_properties: identify.userProperties ?? {},
    },
    stream: streamed && {
      event: STREAM_EVENT,
      sent: streamEvents,
      ok: streamed.ok,
      not_ok: streamed.failed.length,
      unanswered: streamed.unanswered,
    },
    failures,
    ok: failures.length === 0,
  };
  console.log(JSON.stringify(summary, null, 2));
  return failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
