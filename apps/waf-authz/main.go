// waf-authz: the edge's WAF as an Envoy external authorization service
// (gRPC, envoy.service.auth.v3): the Coraza engine and the OWASP Core Rule
// Set judge each request, headers and body, before Envoy sends it upstream.
// authz.go says why; security/waf.md weighs it against the wasm filter.
//
// Environment:
//
//	DIRECTIVES_FILE  JSON array of directive lines (the stack renders them)
//	GRPC_PORT        the Check service (default 9002)
//	OPS_PORT         /metrics, /health/live, /health/ready (default 9464)
//	LISTEN_HOST      default 0.0.0.0
//
// The first stdout line is {"msg":"listening","grpc":"host:port","ops":"host:port"}.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	coreruleset "github.com/corazawaf/coraza-coreruleset/v4"
	"github.com/corazawaf/coraza/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func env(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// loadWAF builds the engine from the directives file; the rules' files
// (@coraza.conf-recommended, @crs-setup.conf.example, @owasp_crs/...) are
// the coraza-coreruleset module's, at the version go.mod pins.
func loadWAF(file string) (coraza.WAF, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("DIRECTIVES_FILE: %w", err)
	}
	var lines []string
	if err := json.Unmarshal(raw, &lines); err != nil {
		return nil, fmt.Errorf("DIRECTIVES_FILE %s: want a JSON array of directive lines: %w", file, err)
	}
	waf, err := coraza.NewWAF(coraza.NewWAFConfig().
		WithRootFS(coreruleset.FS).
		WithDirectives(strings.Join(lines, "\n")))
	if err != nil {
		return nil, fmt.Errorf("DIRECTIVES_FILE %s: refused by the engine: %w", file, err)
	}
	return waf, nil
}

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("service", "waf-authz")
	if err := run(log); err != nil {
		log.Error("exiting", "error", err.Error())
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	file := os.Getenv("DIRECTIVES_FILE")
	if file == "" {
		return errors.New("DIRECTIVES_FILE: required")
	}
	waf, err := loadWAF(file)
	if err != nil {
		return err
	}
	host := env("LISTEN_HOST", "0.0.0.0")
	grpcLn, err := net.Listen("tcp", net.JoinHostPort(host, env("GRPC_PORT", "9002")))
	if err != nil {
		return err
	}
	opsLn, err := net.Listen("tcp", net.JoinHostPort(host, env("OPS_PORT", "9464")))
	if err != nil {
		return err
	}
	m := newMetrics()
	server := grpc.NewServer()
	authv3.RegisterAuthorizationServer(server, &checker{waf: waf, metrics: m, log: log})
	healthServer := health.NewServer()
	healthpb.RegisterHealthServer(server, healthServer)

	var shuttingDown atomic.Bool
	ops := &http.Server{Handler: opsHandler(m, &shuttingDown), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = ops.Serve(opsLn) }()
	go func() { _ = server.Serve(grpcLn) }()
	log.Info("listening", "grpc", grpcLn.Addr().String(), "ops", opsLn.Addr().String())

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	// Not ready first, so Envoy's endpoints drop this pod; then finish the calls in flight.
	shuttingDown.Store(true)
	healthServer.Shutdown()
	time.Sleep(drainDelay())
	server.GracefulStop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return ops.Shutdown(ctx)
}

func drainDelay() time.Duration {
	d, err := time.ParseDuration(env("SHUTDOWN_DRAIN_DELAY", "0s"))
	if err != nil {
		return 0
	}
	return d
}

func opsHandler(m *metrics, shuttingDown *atomic.Bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/health/live", func(w http.ResponseWriter, _ *http.Request) {
		writeHealth(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("/health/ready", func(w http.ResponseWriter, _ *http.Request) {
		if shuttingDown.Load() {
			writeHealth(w, http.StatusServiceUnavailable, "shutting down")
			return
		}
		writeHealth(w, http.StatusOK, "ok")
	})
	return mux
}

func writeHealth(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"status": text})
}
