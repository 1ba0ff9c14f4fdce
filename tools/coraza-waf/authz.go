package main

// -authz mode: the harness as Envoy's ext_authz filter in front of the
// gateway, asking the real WAF service (apps/waf-authz) over gRPC. As Envoy
// does: the body is buffered up to the policy's limit (a longer one is
// refused with 413 before anyone judges it), the request's method, path,
// headers (names lower-cased, repeats joined with ",", the pseudo-headers
// beside them) and body go in one CheckRequest, and nothing goes upstream
// unless the answer is OK; a denial is answered with the service's status,
// headers and body. A failed Check is answered 403 (Envoy's statusOnError
// default, fail closed).

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync/atomic"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

var checkIDs atomic.Uint64

func socketAddress(addr string) *corev3.Address {
	host, port := splitHostPort(addr)
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address: host, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: uint32(port)},
	}}}
}

func checkRequest(r *http.Request, body []byte) *authv3.CheckRequest {
	headers := map[string]string{
		":method": r.Method, ":path": r.URL.RequestURI(), ":authority": r.Host, ":scheme": "http",
	}
	for name, values := range r.Header {
		headers[strings.ToLower(name)] = strings.Join(values, ",")
	}
	local := r.Context().Value(http.LocalAddrContextKey).(net.Addr).String()
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source:      &authv3.AttributeContext_Peer{Address: socketAddress(r.RemoteAddr)},
		Destination: &authv3.AttributeContext_Peer{Address: socketAddress(local)},
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Id:       fmt.Sprint(checkIDs.Add(1)),
			Method:   r.Method,
			Path:     r.URL.RequestURI(),
			Host:     r.Host,
			Scheme:   "http",
			Protocol: r.Proto,
			Headers:  headers,
			Size:     int64(len(body)),
			RawBody:  body,
		}},
	}}
}

// authzHandler judges each request through the service, then proxies it.
// With addr "off" it is the edge without a WAF: a proxy, for the latency
// benchmark's side-by-side (scripts/bench/waf-latency.ts).
func authzHandler(addr string, bodyLimit int64, proxy *httputil.ReverseProxy) (http.Handler, error) {
	if addr == "off" {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			out := &outcome{RequestID: r.Header.Get("X-Request-Id"), Method: r.Method, URI: r.URL.RequestURI(), Rules: []int{}, Upstream: true}
			defer emit(out)
			rec := &statusRecorder{ResponseWriter: w}
			proxy.ServeHTTP(rec, r)
			out.Status = rec.status
		}), nil
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	client := authv3.NewAuthorizationClient(conn)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := &outcome{RequestID: r.Header.Get("X-Request-Id"), Method: r.Method, URI: r.URL.RequestURI(), Rules: []int{}}
		defer emit(out)
		body, err := io.ReadAll(io.LimitReader(r.Body, bodyLimit+1))
		if err != nil {
			out.Status = http.StatusBadRequest
			http.Error(w, "request body: "+err.Error(), out.Status)
			return
		}
		if int64(len(body)) > bodyLimit {
			out.Status, out.Stage = http.StatusRequestEntityTooLarge, "body_limit"
			http.Error(w, "Payload Too Large", out.Status)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		res, err := client.Check(ctx, checkRequest(r, body))
		cancel()
		if err != nil {
			out.Blocked, out.Stage, out.Status, out.Error = true, "ext_authz_error", http.StatusForbidden, err.Error()
			w.WriteHeader(out.Status)
			return
		}
		if res.GetStatus().GetCode() != int32(code.Code_OK) {
			d := res.GetDeniedResponse()
			out.Blocked, out.Stage, out.Status = true, "ext_authz", int(d.GetStatus().GetCode())
			if out.Status == 0 {
				out.Status = http.StatusForbidden
			}
			for _, h := range d.GetHeaders() {
				w.Header().Set(h.GetHeader().GetKey(), h.GetHeader().GetValue())
			}
			w.WriteHeader(out.Status)
			_, _ = io.WriteString(w, d.GetBody())
			return
		}
		out.Upstream = true
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		rec := &statusRecorder{ResponseWriter: w}
		proxy.ServeHTTP(rec, r)
		out.Status = rec.status
	}), nil
}

// statusRecorder keeps the upstream's status for the outcome line; it lets
// the proxy take over the connection for a WebSocket upgrade.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
