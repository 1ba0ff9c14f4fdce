// loadgen: the benchmarks' load generator (scripts/bench*.ts). It costs a
// few tens of microseconds of CPU per request where k6 costs 160-500, so the
// processes under test, not the generator, bound a row. Two load models:
//
//	closed: -concurrency workers, each sends its next request when the last
//	        one answered (throughput at a fixed concurrency);
//	open:   -rate arrivals per second on a fixed schedule whatever the
//	        answers (the scaling curve); latency counts from the scheduled
//	        time, so a stalled server is not hidden (no coordinated omission).
//
// Targets: http://host:port (each line of -requests is a path and query) or
// grpc://host:port with -method (each line is a base64 protobuf request,
// sent as is). Prints one JSON object with the measured window's figures and
// its own CPU time.
package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

type options struct {
	target, method, requestsFile, mode string
	concurrency, maxInFlight          int
	rate                              float64
	duration, warmup, timeout         time.Duration
}

type result struct {
	Mode         string   `json:"mode"`
	OfferedRps   float64  `json:"offeredRps,omitempty"`
	Requests     int      `json:"requests"`
	Errors       int64    `json:"errors"`
	Dropped      int64    `json:"dropped"`
	Seconds      float64  `json:"seconds"`
	Rps          float64  `json:"rps"`
	P50          float64  `json:"p50"`
	P95          float64  `json:"p95"`
	P99          float64  `json:"p99"`
	Max          float64  `json:"max"`
	CPUMs        float64  `json:"cpuMs"`
	ErrorSamples []string `json:"errorSamples"`
}

// sender sends request i (cycling through the list) and reports its error.
type sender func(ctx context.Context, i int) error

// recorder keeps the latencies and errors of requests scheduled inside the
// measured window.
type recorder struct {
	mu        sync.Mutex
	latencies []time.Duration
	errors    atomic.Int64
	samples   []string
}

func (r *recorder) add(latency time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		r.latencies = append(r.latencies, latency)
		return
	}
	r.errors.Add(1)
	if len(r.samples) < 3 {
		r.samples = append(r.samples, err.Error())
	}
}

func main() {
	var o options
	flag.StringVar(&o.target, "target", "", "http://host:port or grpc://host:port")
	flag.StringVar(&o.method, "method", "", "gRPC method, e.g. /feed.v1.FeedService/GetFeed")
	flag.StringVar(&o.requestsFile, "requests", "", "file: one path (http) or base64 message (grpc) per line")
	flag.StringVar(&o.mode, "mode", "closed", "closed or open")
	flag.IntVar(&o.concurrency, "concurrency", 16, "closed model: workers")
	flag.Float64Var(&o.rate, "rate", 100, "open model: arrivals per second")
	flag.IntVar(&o.maxInFlight, "max-in-flight", 2000, "open model: arrivals beyond this many in flight are dropped (counted)")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "measured window")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "load before the window, not measured")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Second, "per request")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	lines, err := readLines(o.requestsFile)
	if err != nil {
		return err
	}
	send, closeFn, err := newSender(o, lines)
	if err != nil {
		return err
	}
	defer closeFn()
	rec := &recorder{latencies: make([]time.Duration, 0, 1<<16)}
	var window timeWindow
	switch o.mode {
	case "closed":
		window = closedLoop(o, send, rec)
	case "open":
		if o.rate <= 0 {
			return errors.New("-rate must be above 0")
		}
		window = openLoop(o, send, rec)
	default:
		return fmt.Errorf("-mode must be closed or open, not %q", o.mode)
	}
	return json.NewEncoder(os.Stdout).Encode(summarise(o, rec, window))
}

func readLines(file string) ([]string, error) {
	if file == "" {
		return nil, errors.New("-requests is required")
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		if line := strings.TrimSpace(scanner.Text()); line != "" {
			lines = append(lines, line)
		}
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("%s holds no requests", file)
	}
	return lines, scanner.Err()
}

func newSender(o options, lines []string) (sender, func(), error) {
	switch {
	case strings.HasPrefix(o.target, "http://"):
		return httpSender(o, lines), func() {}, nil
	case strings.HasPrefix(o.target, "grpc://"):
		return grpcSender(o, lines)
	default:
		return nil, nil, fmt.Errorf("-target must start with http:// or grpc://, not %q", o.target)
	}
}

func httpSender(o options, lines []string) sender {
	conns := max(o.concurrency, 1)
	if o.mode == "open" {
		conns = o.maxInFlight
	}
	client := &http.Client{
		Timeout:   o.timeout,
		Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true},
	}
	urls := make([]string, len(lines))
	for i, line := range lines {
		urls[i] = o.target + line
	}
	return func(ctx context.Context, i int) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, urls[i%len(urls)], nil)
		if err != nil {
			return err
		}
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err == nil && res.StatusCode != http.StatusOK {
			err = fmt.Errorf("HTTP %d", res.StatusCode)
		}
		return err
	}
}

// rawCodec sends pre-encoded protobuf bytes and keeps the answer's bytes, so
// the generator needs no generated code and spends nothing on (de)serialising.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append((*(v.(*[]byte)))[:0], data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

func grpcSender(o options, lines []string) (sender, func(), error) {
	if o.method == "" {
		return nil, nil, errors.New("-method is required for a grpc target")
	}
	messages := make([][]byte, len(lines))
	for i, line := range lines {
		b, err := base64.StdEncoding.DecodeString(line)
		if err != nil {
			return nil, nil, fmt.Errorf("request %d is not base64: %w", i+1, err)
		}
		messages[i] = b
	}
	conn, err := grpc.NewClient(strings.TrimPrefix(o.target, "grpc://"),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
	if err != nil {
		return nil, nil, err
	}
	send := func(ctx context.Context, i int) error {
		ctx, cancel := context.WithTimeout(ctx, o.timeout)
		defer cancel()
		var reply []byte
		return conn.Invoke(ctx, o.method, &messages[i%len(messages)], &reply)
	}
	return send, func() { conn.Close() }, nil
}

type timeWindow struct {
	start, end time.Time
	cpuMs      float64
}

func cpuMs() float64 {
	var u syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &u)
	return float64(u.Utime.Nano()+u.Stime.Nano()) / 1e6
}

// measureWindow waits out the warm-up, then the measured window, and notes
// its bounds and the CPU this process used inside it.
func measureWindow(o options) timeWindow {
	time.Sleep(o.warmup)
	w := timeWindow{start: time.Now()}
	cpuBefore := cpuMs()
	time.Sleep(o.duration)
	w.end = time.Now()
	w.cpuMs = cpuMs() - cpuBefore
	return w
}

func closedLoop(o options, send sender, rec *recorder) timeWindow {
	var stop atomic.Bool
	var measuring atomic.Bool
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(o.concurrency, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				began := time.Now()
				counted := measuring.Load()
				err := send(context.Background(), int(next.Add(1)))
				if counted && measuring.Load() {
					rec.add(time.Since(began), err)
				}
			}
		}()
	}
	time.Sleep(o.warmup)
	measuring.Store(true)
	w := measureWindow(options{duration: o.duration})
	measuring.Store(false)
	stop.Store(true)
	wg.Wait()
	return w
}

func openLoop(o options, send sender, rec *recorder) timeWindow {
	slots := make(chan struct{}, o.maxInFlight)
	interval := time.Duration(float64(time.Second) / o.rate)
	began := time.Now()
	windowStart := began.Add(o.warmup)
	windowEnd := windowStart.Add(o.duration)
	var wg sync.WaitGroup
	var dropped atomic.Int64
	done := make(chan timeWindow)
	go func() { done <- measureWindow(o) }()
	for i := 0; ; i++ {
		scheduled := began.Add(time.Duration(i) * interval)
		if !scheduled.Before(windowEnd) {
			break
		}
		time.Sleep(time.Until(scheduled))
		counted := !scheduled.Before(windowStart)
		select {
		case slots <- struct{}{}:
		default:
			if counted {
				dropped.Add(1)
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			err := send(context.Background(), i)
			if counted {
				rec.add(time.Since(scheduled), err)
			}
		}()
	}
	w := <-done
	wg.Wait()
	rec.errors.Add(dropped.Load())
	if n := dropped.Load(); n > 0 {
		rec.samples = append(rec.samples, fmt.Sprintf("%d arrivals dropped: %d already in flight", n, o.maxInFlight))
	}
	return w
}

func summarise(o options, rec *recorder, w timeWindow) result {
	sort.Slice(rec.latencies, func(a, b int) bool { return rec.latencies[a] < rec.latencies[b] })
	seconds := w.end.Sub(w.start).Seconds()
	r := result{
		Mode: o.mode, Requests: len(rec.latencies), Errors: rec.errors.Load(), Seconds: seconds,
		Rps: float64(len(rec.latencies)) / seconds, CPUMs: w.cpuMs, ErrorSamples: rec.samples,
		P50: pct(rec.latencies, 50), P95: pct(rec.latencies, 95), P99: pct(rec.latencies, 99), Max: pct(rec.latencies, 100),
	}
	if o.mode == "open" {
		r.OfferedRps = o.rate
	}
	if r.ErrorSamples == nil {
		r.ErrorSamples = []string{}
	}
	return r
}

// pct is the nearest-rank percentile in milliseconds (0 when nothing answered).
func pct(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.999999) - 1
	i = min(max(i, 0), len(sorted)-1)
	return float64(sorted[i].Microseconds()) / 1000
}
