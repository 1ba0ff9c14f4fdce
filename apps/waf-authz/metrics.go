package main

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics: what the dashboard and the alerts read (golive_waf_*), beside
// the Go runtime's and the process's own.
type metrics struct {
	registry *prometheus.Registry
	checks   *prometheus.CounterVec
	duration prometheus.Histogram
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "golive_waf_checks_total",
			Help: "Requests judged, by decision: allowed, blocked, would_block (DetectionOnly).",
		}, []string{"decision"}),
		// The time the WAF adds to every request before Envoy sends it upstream.
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "golive_waf_check_duration_seconds",
			Help:    "Time to judge one request (phases 1 and 2).",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25},
		}),
	}
	m.registry.MustRegister(m.checks, m.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, d := range []string{"allowed", "blocked", "would_block"} {
		m.checks.WithLabelValues(d)
	}
	return m
}

func (m *metrics) observe(decision string, took time.Duration) {
	m.checks.WithLabelValues(decision).Inc()
	m.duration.Observe(took.Seconds())
}
