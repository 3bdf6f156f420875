// Command heapdestination-go-client calls the Heap destination service with Go code
// generated from protos/ (protoc-gen-go and protoc-gen-go-grpc): a track with Heap's
// flattening example as nested properties, an identify with traits, and a stream of
// events. It prints a JSON summary and exits 1 if any call or event is not OK.
//
//	heapdestination-go-client -target 127.0.0.1:50051 -app-id 1234567890 -events 1000
//
// Build it with clients/go/build.sh, which generates the code and builds in GOPATH mode.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	pb "example.com/heapdestination/gen/go/heap_destination/v1"
)

// eventsPerRequest is how many events each StreamEventsRequest carries.
const eventsPerRequest = 100

// identitiesInStream spreads the stream over this many users, so no identity reaches
// the service's per-identity rate limit (1,000 events per minute by default).
const identitiesInStream = 100

type callSummary struct {
	OK       bool   `json:"ok"`
	Identity string `json:"identity,omitempty"`
	Error    string `json:"error,omitempty"`
}

type streamSummary struct {
	Sent     int      `json:"sent"`
	Results  int      `json:"results"`
	OK       int      `json:"ok"`
	Failed   int      `json:"failed"`
	Failures []string `json:"failures,omitempty"`
	Error    string   `json:"error,omitempty"`
	Seconds  float64  `json:"seconds"`
}

type summary struct {
	Client   string        `json:"client"`
	Target   string        `json:"target"`
	AppID    string        `json:"app_id"`
	RunID    string        `json:"run_id"`
	Track    callSummary   `json:"track"`
	Identify callSummary   `json:"identify"`
	Stream   streamSummary `json:"stream"`
	OK       bool          `json:"ok"`
}

func envOr(name, fallback string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return fallback
}

func main() {
	target := flag.String("target", envOr("SERVICE_TARGET", "127.0.0.1:50051"), "host:port of the service (env SERVICE_TARGET)")
	appID := flag.String("app-id", envOr("HEAP_APP_ID", "1234567890"), "Heap app_id (env HEAP_APP_ID)")
	events := flag.Int("events", 1000, "events to send on the stream")
	runID := flag.String("run-id", envOr("RUN_ID", strconv.FormatInt(time.Now().UnixNano(), 36)), "prefix of the stream's event and message ids (env RUN_ID)")
	timeout := flag.Duration("timeout", 2*time.Minute, "deadline for all calls")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	conn, err := grpc.DialContext(ctx, *target, grpc.WithInsecure())
	if err != nil {
		fmt.Fprintf(os.Stderr, "dial %s: %v\n", *target, err)
		os.Exit(1)
	}
	defer conn.Close()
	client := pb.NewHeapDestinationServiceClient(conn)
	config := &pb.DestinationConfig{AppId: *appID}

	out := summary{Client: "go", Target: *target, AppID: *appID, RunID: *runID}
	out.Track = track(ctx, client, config)
	out.Identify = identify(ctx, client, config)
	out.Stream = stream(ctx, client, config, *runID, *events)
	out.OK = out.Track.OK && out.Identify.OK && out.Stream.Error == "" &&
		out.Stream.OK == *events && out.Stream.Results == *events

	encoded, _ := json.MarshalIndent(out, "", "  ")
	fmt.Println(string(encoded))
	if !out.OK {
		os.Exit(1)
	}
}

// track sends Heap's flattening example as nested properties.
func track(ctx context.Context, client pb.HeapDestinationServiceClient, config *pb.DestinationConfig) callSummary {
	properties, err := structpb.NewStruct(map[string]interface{}{
		"foo": map[string]interface{}{
			"bar": map[string]interface{}{
				"cheese": "american",
				"prop":   []interface{}{1, 2, 3},
			},
		},
	})
	if err != nil {
		return callSummary{Error: err.Error()}
	}
	response, err := client.TrackEvent(ctx, &pb.TrackEventRequest{
		Config:     config,
		UserId:     "u1",
		Event:      "Signed Up",
		Properties: properties,
	})
	if err != nil {
		return callSummary{Error: describe(err)}
	}
	return callSummary{OK: true, Identity: response.GetIdentity()}
}

// identify sends a user's traits.
func identify(ctx context.Context, client pb.HeapDestinationServiceClient, config *pb.DestinationConfig) callSummary {
	traits, err := structpb.NewStruct(map[string]interface{}{
		"email": "u1@example.com",
		"plan":  "pro",
		"seats": 3,
	})
	if err != nil {
		return callSummary{Error: err.Error()}
	}
	response, err := client.IdentifyUser(ctx, &pb.IdentifyUserRequest{
		Config: config,
		UserId: "u1",
		Traits: traits,
	})
	if err != nil {
		return callSummary{Error: describe(err)}
	}
	return callSummary{OK: true, Identity: response.GetIdentity()}
}

// stream sends count track events on one StreamEvents call, in requests of
// eventsPerRequest, while reading the results; every event must come back OK once.
func stream(ctx context.Context, client pb.HeapDestinationServiceClient, config *pb.DestinationConfig, runID string, count int) (result streamSummary) {
	started := time.Now()
	defer func() { result.Seconds = time.Since(started).Seconds() }()
	call, err := client.StreamEvents(ctx)
	if err != nil {
		result.Error = describe(err)
		return result
	}
	sendErr := make(chan error, 1)
	go func() {
		for first := 0; first < count; first += eventsPerRequest {
			request := &pb.StreamEventsRequest{Config: config}
			for i := first; i < first+eventsPerRequest && i < count; i++ {
				id := fmt.Sprintf("%s-%d", runID, i)
				properties, _ := structpb.NewStruct(map[string]interface{}{"seq": i, "run": runID})
				request.Events = append(request.Events, &pb.Event{
					Id: id,
					Kind: &pb.Event_Track{Track: &pb.TrackEventRequest{
						UserId:     fmt.Sprintf("%s-user-%d", runID, i%identitiesInStream),
						Event:      "Go Stream Event",
						Properties: properties,
						MessageId:  id,
					}},
				})
			}
			if err := call.Send(request); err != nil {
				sendErr <- err
				return
			}
			result.Sent += len(request.Events)
		}
		sendErr <- call.CloseSend()
	}()

	seen := make(map[string]bool, count)
	for {
		response, err := call.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			result.Error = describe(err)
			break
		}
		for _, event := range response.GetResults() {
			result.Results++
			if seen[event.GetId()] {
				result.Failed++
				result.Failures = appendFailure(result.Failures, fmt.Sprintf("%s: result returned twice", event.GetId()))
				continue
			}
			seen[event.GetId()] = true
			if event.GetCode() == 0 {
				result.OK++
				continue
			}
			result.Failed++
			result.Failures = appendFailure(result.Failures, fmt.Sprintf(
				"%s: code %d error_reason %s reason %q: %s",
				event.GetId(), event.GetCode(), event.GetErrorReason(), event.GetReason(), event.GetMessage()))
		}
	}
	if err := <-sendErr; err != nil && result.Error == "" && !errors.Is(err, io.EOF) {
		result.Error = "send: " + err.Error()
	}
	return result
}

// appendFailure keeps the first 10 failures, so a broken run prints a readable summary.
func appendFailure(failures []string, failure string) []string {
	if len(failures) < 10 {
		return append(failures, failure)
	}
	return failures
}

// describe renders a gRPC error with the reason from its google.rpc.ErrorInfo detail.
func describe(err error) string {
	described, ok := status.FromError(err)
	if !ok {
		return err.Error()
	}
	text := fmt.Sprintf("%s: %s", described.Code(), described.Message())
	for _, detail := range described.Details() {
		if info, isInfo := detail.(*errdetails.ErrorInfo); isInfo {
			text += fmt.Sprintf(" (error_reason %s)", info.GetReason())
		}
	}
	return text
}
