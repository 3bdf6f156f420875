package com.example.heapdestination.client;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.UnknownFieldSet;
import com.google.protobuf.Value;
import heap_destination.v1.Config.DestinationConfig;
import heap_destination.v1.HeapDestinationServiceGrpc;
import heap_destination.v1.Identify.IdentifyUserRequest;
import heap_destination.v1.Identify.IdentifyUserResponse;
import heap_destination.v1.Stream.Event;
import heap_destination.v1.Stream.EventResult;
import heap_destination.v1.Stream.StreamEventsRequest;
import heap_destination.v1.Stream.StreamEventsResponse;
import heap_destination.v1.Track.TrackEventRequest;
import heap_destination.v1.Track.TrackEventResponse;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Calls the Heap destination service with Java code generated from protos/ (protoc's java
 * output and grpc_java_plugin): a track with Heap's flattening example as nested properties,
 * an identify with traits, and a stream of events. Prints a JSON summary and exits 1 if any
 * call or event is not OK.
 *
 * <pre>
 * java -cp "$(cat OUT/classpath)" com.example.heapdestination.client.Main \
 *     --target 127.0.0.1:50051 --app-id 1234567890 --events 1000
 * </pre>
 *
 * Build it with clients/java/build.sh, which generates the code and compiles with javac.
 */
public final class Main {
  /** How many events each StreamEventsRequest carries. */
  private static final int EVENTS_PER_REQUEST = 100;

  /**
   * The stream spreads its events over this many users, so no identity reaches the service's
   * per-identity rate limit (1,000 events per minute by default).
   */
  private static final int IDENTITIES_IN_STREAM = 100;

  private static final Metadata.Key<byte[]> STATUS_DETAILS =
      Metadata.Key.of("grpc-status-details-bin", Metadata.BINARY_BYTE_MARSHALLER);

  private Main() {}

  public static void main(String[] args) throws InterruptedException {
    Map<String, String> options = new LinkedHashMap<>();
    options.put("target", envOr("SERVICE_TARGET", "127.0.0.1:50051"));
    options.put("app-id", envOr("HEAP_APP_ID", "1234567890"));
    options.put("events", "1000");
    options.put("run-id", envOr("RUN_ID", Long.toString(System.nanoTime(), 36)));
    options.put("timeout-seconds", "120");
    for (int i = 0; i < args.length; i++) {
      String name = args[i].replaceFirst("^--?", "");
      if (!options.containsKey(name) || i + 1 >= args.length) {
        System.err.println(
            "usage: Main [--target HOST:PORT] [--app-id ID] [--events N] [--run-id ID]"
                + " [--timeout-seconds S]   (env SERVICE_TARGET, HEAP_APP_ID, RUN_ID)");
        System.exit(2);
      }
      options.put(name, args[++i]);
    }
    String target = options.get("target");
    String appId = options.get("app-id");
    String runId = options.get("run-id");
    int events = Integer.parseInt(options.get("events"));
    long timeoutSeconds = Long.parseLong(options.get("timeout-seconds"));

    ManagedChannel channel = ManagedChannelBuilder.forTarget(target).usePlaintext().build();
    boolean ok;
    StringBuilder json = new StringBuilder();
    try {
      HeapDestinationServiceGrpc.HeapDestinationServiceBlockingStub blocking =
          HeapDestinationServiceGrpc.newBlockingStub(channel)
              .withDeadlineAfter(timeoutSeconds, TimeUnit.SECONDS);
      DestinationConfig config = DestinationConfig.newBuilder().setAppId(appId).build();

      String[] track = track(blocking, config);
      String[] identify = identify(blocking, config);
      StreamSummary stream =
          stream(
              HeapDestinationServiceGrpc.newStub(channel)
                  .withDeadlineAfter(timeoutSeconds, TimeUnit.SECONDS),
              config,
              runId,
              events,
              timeoutSeconds);
      ok =
          track[0] != null
              && identify[0] != null
              && stream.error == null
              && stream.ok == events
              && stream.results == events;

      json.append("{\n")
          .append("  \"client\": \"java\",\n")
          .append("  \"target\": ").append(quote(target)).append(",\n")
          .append("  \"app_id\": ").append(quote(appId)).append(",\n")
          .append("  \"run_id\": ").append(quote(runId)).append(",\n")
          .append("  \"track\": ").append(call(track)).append(",\n")
          .append("  \"identify\": ").append(call(identify)).append(",\n")
          .append("  \"stream\": ").append(stream.toJson()).append(",\n")
          .append("  \"ok\": ").append(ok).append("\n}");
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    System.out.println(json);
    System.exit(ok ? 0 : 1);
  }

  /** Sends Heap's flattening example as nested properties: {identity, null} or {null, error}. */
  private static String[] track(
      HeapDestinationServiceGrpc.HeapDestinationServiceBlockingStub client,
      DestinationConfig config) {
    Struct bar =
        Struct.newBuilder()
            .putFields("cheese", string("american"))
            .putFields(
                "prop",
                Value.newBuilder()
                    .setListValue(
                        ListValue.newBuilder()
                            .addValues(number(1))
                            .addValues(number(2))
                            .addValues(number(3)))
                    .build())
            .build();
    Struct foo = Struct.newBuilder().putFields("bar", struct(bar)).build();
    Struct properties = Struct.newBuilder().putFields("foo", struct(foo)).build();
    try {
      TrackEventResponse response =
          client.trackEvent(
              TrackEventRequest.newBuilder()
                  .setConfig(config)
                  .setUserId("u1")
                  .setEvent("Signed Up")
                  .setProperties(properties)
                  .build());
      return new String[] {response.getIdentity(), null};
    } catch (StatusRuntimeException error) {
      return new String[] {null, describe(error)};
    }
  }

  /** Sends a user's traits: {identity, null} or {null, error}. */
  private static String[] identify(
      HeapDestinationServiceGrpc.HeapDestinationServiceBlockingStub client,
      DestinationConfig config) {
    Struct traits =
        Struct.newBuilder()
            .putFields("email", string("u1@example.com"))
            .putFields("plan", string("pro"))
            .putFields("seats", number(3))
            .build();
    try {
      IdentifyUserResponse response =
          client.identifyUser(
              IdentifyUserRequest.newBuilder()
                  .setConfig(config)
                  .setUserId("u1")
                  .setTraits(traits)
                  .build());
      return new String[] {response.getIdentity(), null};
    } catch (StatusRuntimeException error) {
      return new String[] {null, describe(error)};
    }
  }

  /** What came back on the stream. */
  private static final class StreamSummary {
    int sent;
    int results;
    int ok;
    int failed;
    final List<String> failures = new ArrayList<>();
    volatile String error;
    double seconds;

    void fail(String failure) {
      failed++;
      if (failures.size() < 10) {
        failures.add(failure);
      }
    }

    String toJson() {
      StringBuilder json = new StringBuilder("{");
      json.append("\"sent\": ").append(sent)
          .append(", \"results\": ").append(results)
          .append(", \"ok\": ").append(ok)
          .append(", \"failed\": ").append(failed)
          .append(", \"seconds\": ").append(seconds);
      if (!failures.isEmpty()) {
        json.append(", \"failures\": [");
        for (int i = 0; i < failures.size(); i++) {
          json.append(i == 0 ? "" : ", ").append(quote(failures.get(i)));
        }
        json.append("]");
      }
      if (error != null) {
        json.append(", \"error\": ").append(quote(error));
      }
      return json.append("}").toString();
    }
  }

  /**
   * Sends count track events on one StreamEvents call, in requests of EVENTS_PER_REQUEST;
   * every event must come back OK once.
   */
  private static StreamSummary stream(
      HeapDestinationServiceGrpc.HeapDestinationServiceStub client,
      DestinationConfig config,
      String runId,
      int count,
      long timeoutSeconds)
      throws InterruptedException {
    long started = System.nanoTime();
    StreamSummary summary = new StreamSummary();
    Set<String> seen = new HashSet<>();
    CountDownLatch done = new CountDownLatch(1);
    StreamObserver<StreamEventsRequest> requests =
        client.streamEvents(
            new StreamObserver<StreamEventsResponse>() {
              @Override
              public void onNext(StreamEventsResponse response) {
                synchronized (summary) {
                  for (EventResult result : response.getResultsList()) {
                    summary.results++;
                    if (!seen.add(result.getId())) {
                      summary.fail(result.getId() + ": result returned twice");
                    } else if (result.getCode() == 0) {
                      summary.ok++;
                    } else {
                      summary.fail(
                          String.format(
                              "%s: code %d error_reason %s reason \"%s\": %s",
                              result.getId(),
                              result.getCode(),
                              result.getErrorReason(),
                              result.getReason(),
                              result.getMessage()));
                    }
                  }
                }
              }

              @Override
              public void onError(Throwable error) {
                summary.error =
                    error instanceof StatusRuntimeException
                        ? describe((StatusRuntimeException) error)
                        : error.toString();
                done.countDown();
              }

              @Override
              public void onCompleted() {
                done.countDown();
              }
            });
    try {
      for (int first = 0; first < count; first += EVENTS_PER_REQUEST) {
        StreamEventsRequest.Builder request = StreamEventsRequest.newBuilder().setConfig(config);
        for (int i = first; i < Math.min(first + EVENTS_PER_REQUEST, count); i++) {
          String id = runId + "-" + i;
          Struct properties =
              Struct.newBuilder().putFields("seq", number(i)).putFields("run", string(runId)).build();
          request.addEvents(
              Event.newBuilder()
                  .setId(id)
                  .setTrack(
                      TrackEventRequest.newBuilder()
                          .setUserId(runId + "-user-" + (i % IDENTITIES_IN_STREAM))
                          .setEvent("Java Stream Event")
                          .setProperties(properties)
                          .setMessageId(id)));
        }
        requests.onNext(request.build());
        synchronized (summary) {
          summary.sent += request.getEventsCount();
        }
      }
      requests.onCompleted();
    } catch (RuntimeException error) {
      requests.onError(error);
      summary.error = "send: " + error;
    }
    if (!done.await(timeoutSeconds, TimeUnit.SECONDS) && summary.error == null) {
      summary.error = "no end of stream after " + timeoutSeconds + " s";
    }
    synchronized (summary) {
      summary.seconds = (System.nanoTime() - started) / 1e9;
      return summary;
    }
  }

  /** A gRPC error with the reason from its google.rpc.ErrorInfo detail, when there is one. */
  private static String describe(StatusRuntimeException error) {
    Status status = error.getStatus();
    String text = status.getCode() + ": " + status.getDescription();
    Metadata trailers = error.getTrailers();
    byte[] details = trailers == null ? null : trailers.get(STATUS_DETAILS);
    if (details != null) {
      String reason = errorInfoReason(details);
      if (reason != null) {
        text += " (error_reason " + reason + ")";
      }
    }
    return text;
  }

  /**
   * ErrorInfo.reason from a serialized google.rpc.Status, read by field number (Status.details
   * = 3, Any.type_url = 1, Any.value = 2, ErrorInfo.reason = 1) so no google.rpc classes are
   * needed.
   */
  private static String errorInfoReason(byte[] statusBytes) {
    try {
      UnknownFieldSet status = UnknownFieldSet.parseFrom(statusBytes);
      if (!status.hasField(3)) {
        return null;
      }
      for (ByteString anyBytes : status.getField(3).getLengthDelimitedList()) {
        UnknownFieldSet any = UnknownFieldSet.parseFrom(anyBytes);
        if (!any.hasField(1) || !any.hasField(2)) {
          continue;
        }
        String typeUrl = any.getField(1).getLengthDelimitedList().get(0).toStringUtf8();
        if (typeUrl.endsWith("/google.rpc.ErrorInfo")) {
          UnknownFieldSet info =
              UnknownFieldSet.parseFrom(any.getField(2).getLengthDelimitedList().get(0));
          return info.hasField(1)
              ? info.getField(1).getLengthDelimitedList().get(0).toStringUtf8()
              : null;
        }
      }
    } catch (InvalidProtocolBufferException ignored) {
      // not a google.rpc.Status: report the code and description only
    }
    return null;
  }

  private static Value string(String text) {
    return Value.newBuilder().setStringValue(text).build();
  }

  private static Value number(double number) {
    return Value.newBuilder().setNumberValue(number).build();
  }

  private static Value struct(Struct struct) {
    return Value.newBuilder().setStructValue(struct).build();
  }

  private static String call(String[] outcome) {
    return outcome[0] != null
        ? "{\"ok\": true, \"identity\": " + quote(outcome[0]) + "}"
        : "{\"ok\": false, \"error\": " + quote(outcome[1]) + "}";
  }

  private static String envOr(String name, String fallback) {
    String value = System.getenv(name);
    return value == null || value.isEmpty() ? fallback : value;
  }

  private static String quote(String text) {
    StringBuilder quoted = new StringBuilder("\"");
    for (char c : String.valueOf(text).toCharArray()) {
      if (c == '"' || c == '\\') {
        quoted.append('\\').append(c);
      } else if (c < 0x20) {
        quoted.append(String.format("\\u%04x", (int) c));
      } else {
        quoted.append(c);
      }
    }
    return quoted.append('"').toString();
  }
}
