package main

// The WAF as Envoy's external authorization service: Envoy asks before it
// sends anything upstream, with the request's method, path, headers and body
// (up to the policy's limit), and forwards the request only on OK. So every
// phase the Core Rule Set inspects a request in (1: headers, 2: body and
// arguments) is judged before the gateway sees a byte of it, bodiless GETs
// and WebSocket upgrades included. The wasm filter this replaces could judge
// a bodiless request's phase 2 only once the gateway had answered.

import (
	"context"
	"encoding/json"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/corazawaf/coraza/v3"
	"github.com/corazawaf/coraza/v3/types"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/genproto/googleapis/rpc/code"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
)

// checker answers Envoy's Check calls with the Coraza engine's verdict.
type checker struct {
	authv3.UnimplementedAuthorizationServer
	waf     coraza.WAF
	metrics *metrics
	log     *slog.Logger
}

// verdict is what one request came to, for the log line and the metrics.
type verdict struct {
	decision string // allowed, blocked, would_block (DetectionOnly)
	stage    string // request_headers or request_body, when blocked
	status   int
	score    int
	rules    []int
}

var totalScore = regexp.MustCompile(`Total Score: (\d+)`)

// The CRS rules that compare the inbound anomaly score with the threshold.
var inboundBlockingRules = map[int]bool{949110: true, 949111: true}

func (c *checker) Check(_ context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	started := time.Now()
	httpReq := req.GetAttributes().GetRequest().GetHttp()
	v := c.judge(req)
	c.metrics.observe(v.decision, time.Since(started))
	if v.decision != "allowed" {
		// The path without its query: the query may carry what a user typed.
		path, _, _ := strings.Cut(httpReq.GetPath(), "?")
		c.log.Warn("waf match", "decision", v.decision, "stage", v.stage, "score", v.score, "rules", v.rules,
			"method", httpReq.GetMethod(), "path", path, "requestId", httpReq.GetHeaders()["x-request-id"])
	}
	if v.decision != "blocked" {
		return &authv3.CheckResponse{Status: &rpcstatus.Status{Code: int32(code.Code_OK)}}, nil
	}
	return denied(v, httpReq.GetHeaders()["x-request-id"]), nil
}

// judge runs the request through phases 1 and 2, stopping at an interruption.
func (c *checker) judge(req *authv3.CheckRequest) verdict {
	attrs := req.GetAttributes()
	httpReq := attrs.GetRequest().GetHttp()
	tx := c.waf.NewTransactionWithID(httpReq.GetId())
	defer func() {
		tx.ProcessLogging()
		_ = tx.Close()
	}()
	src, dst := attrs.GetSource().GetAddress().GetSocketAddress(), attrs.GetDestination().GetAddress().GetSocketAddress()
	tx.ProcessConnection(src.GetAddress(), int(src.GetPortValue()), dst.GetAddress(), int(dst.GetPortValue()))
	tx.ProcessURI(httpReq.GetPath(), httpReq.GetMethod(), protocol(httpReq.GetProtocol()))
	tx.AddRequestHeader("Host", httpReq.GetHost())
	tx.SetServerName(httpReq.GetHost())
	for name, value := range httpReq.GetHeaders() {
		// Pseudo-headers (:method, :path, :authority) are given above.
		if !strings.HasPrefix(name, ":") && name != "host" {
			tx.AddRequestHeader(name, value)
		}
	}
	if it := tx.ProcessRequestHeaders(); it != nil {
		return outcome(tx, "request_headers", it)
	}
	body := httpReq.GetRawBody()
	if len(body) == 0 && httpReq.GetBody() != "" {
		body = []byte(httpReq.GetBody())
	}
	if len(body) > 0 {
		if it, _, err := tx.WriteRequestBody(body); err != nil {
			return errorVerdict(c.log, err)
		} else if it != nil {
			return outcome(tx, "request_body", it)
		}
	}
	it, err := tx.ProcessRequestBody()
	if err != nil {
		return errorVerdict(c.log, err)
	}
	return outcome(tx, "request_body", it)
}

// outcome reads the verdict off a transaction; a nil interruption is allowed
// (or would_block when the score reached the threshold in DetectionOnly).
func outcome(tx types.Transaction, stage string, it *types.Interruption) verdict {
	v := verdict{decision: "allowed", rules: []int{}}
	for _, m := range tx.MatchedRules() {
		id := m.Rule().ID()
		if id == 0 || m.Message() == "" {
			continue
		}
		v.rules = append(v.rules, id)
		if inboundBlockingRules[id] {
			v.decision = "would_block"
			if s := totalScore.FindStringSubmatch(m.Message()); s != nil {
				v.score, _ = strconv.Atoi(s[1])
			}
		}
	}
	if it != nil {
		v.decision, v.stage, v.status = "blocked", stage, it.Status
		if v.status == 0 {
			v.status = 403
		}
	}
	return v
}

// An engine error fails the request closed: Envoy answers the policy's statusOnError.
func errorVerdict(log *slog.Logger, err error) verdict {
	log.Error("waf engine error", "error", err.Error())
	return verdict{decision: "blocked", stage: "engine_error", status: 500, rules: []int{}}
}

// denied is Envoy's answer to the client: the gateway's JSON error shape.
func denied(v verdict, requestID string) *authv3.CheckResponse {
	body, _ := json.Marshal(map[string]string{
		"code":      "WAF_BLOCKED",
		"message":   "the request was refused by the web application firewall",
		"requestId": requestID,
	})
	return &authv3.CheckResponse{
		Status: &rpcstatus.Status{Code: int32(code.Code_PERMISSION_DENIED)},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
			Status: &typev3.HttpStatus{Code: typev3.StatusCode(v.status)},
			Headers: []*corev3.HeaderValueOption{{
				Header: &corev3.HeaderValue{Key: "content-type", Value: "application/json"},
			}},
			Body: string(body),
		}},
	}
}

// Envoy says "HTTP/1.1", "HTTP/2"; Coraza's REQUEST_PROTOCOL wants the same form.
func protocol(p string) string {
	if p == "" {
		return "HTTP/1.1"
	}
	return p
}
