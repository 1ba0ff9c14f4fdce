package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// The directives a stack renders for this service (infra: wafAuthzDirectives), prod's settings.
func directives(engine string) []string {
	return []string{
		"Include @coraza.conf-recommended",
		"Include @crs-setup.conf.example",
		`SecAction "id:900000,phase:1,pass,t:none,nolog,setvar:tx.blocking_paranoia_level=1"`,
		`SecAction "id:900110,phase:1,pass,t:none,nolog,setvar:tx.inbound_anomaly_score_threshold=5"`,
		"Include @owasp_crs/*.conf",
		"SecRuleEngine " + engine,
	}
}

func newChecker(t *testing.T, engine string) *checker {
	t.Helper()
	file := filepath.Join(t.TempDir(), "directives.json")
	raw, _ := json.Marshal(directives(engine))
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	waf, err := loadWAF(file)
	if err != nil {
		t.Fatal(err)
	}
	return &checker{waf: waf, metrics: newMetrics(), log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
}

// A CheckRequest as Envoy sends it: pseudo-headers and lower-case names in the map.
func request(method, path, body string, headers map[string]string) *authv3.CheckRequest {
	h := map[string]string{":method": method, ":path": path, ":authority": "app.golive.example",
		"user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0", "accept": "*/*"}
	for k, v := range headers {
		h[k] = v
	}
	addr := func(ip string, port uint32) *corev3.Address {
		return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
			Address: ip, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port}}}}
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source:      &authv3.AttributeContext_Peer{Address: addr("203.0.113.7", 40000)},
		Destination: &authv3.AttributeContext_Peer{Address: addr("10.0.0.5", 10443)},
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Id: "req-1", Method: method, Path: path, Host: "app.golive.example", Protocol: "HTTP/1.1",
			Headers: h, Body: body,
		}},
	}}
}

func TestVerdicts(t *testing.T) {
	c := newChecker(t, "On")
	json := map[string]string{"content-type": "application/json"}
	cases := []struct {
		name    string
		req     *authv3.CheckRequest
		allowed bool
		stage   string
	}{
		{"a feed page", request("GET", "/v1/feed?userId=6f1c2a4e-8d8b-4e6e-9a55-1c2b3d4e5f60&limit=20", "", nil), true, ""},
		{"a like", request("POST", "/v1/videos/6f1c2a4e-8d8b-4e6e-9a55-1c2b3d4e5f60/likes", `{"userId":"6f1c2a4e-8d8b-4e6e-9a55-1c2b3d4e5f61"}`, json), true, ""},
		{"SQL injection in a bodiless GET", request("GET", "/v1/feed?userId=1'%20OR%20'1'='1&limit=20", "", nil), false, "request_body"},
		{"XSS in a JSON body", request("POST", "/v1/videos/x/likes", `{"userId":"<script>alert(1)</script>"}`, json), false, "request_body"},
		{"a scanner's user agent (phase 1; CRS scores it, the verdict is at the end of phase 2)", request("GET", "/v1/feed", "", map[string]string{"user-agent": "sqlmap/1.8"}), false, "request_body"},
		{"a WebSocket upgrade with traversal", request("GET", "/v1/messages?userId=../../etc/passwd", "", map[string]string{"upgrade": "websocket", "connection": "Upgrade"}), false, "request_body"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := c.judge(tc.req)
			if (v.decision == "allowed") != tc.allowed {
				t.Fatalf("decision %s (rules %v), want allowed=%v", v.decision, v.rules, tc.allowed)
			}
			if !tc.allowed && (v.status != 403 || v.stage != tc.stage) {
				t.Fatalf("blocked with %d at %s, want 403 at %s", v.status, v.stage, tc.stage)
			}
		})
	}
}

// DetectionOnly (staging) lets everything through and says what it would have blocked.
func TestDetectionOnly(t *testing.T) {
	c := newChecker(t, "DetectionOnly")
	res, err := c.Check(context.Background(), request("GET", "/v1/feed?userId=1'%20OR%20'1'='1", "", nil))
	if err != nil || res.GetStatus().GetCode() != int32(code.Code_OK) {
		t.Fatalf("want OK, got %v %v", res, err)
	}
	if v := c.judge(request("GET", "/v1/feed?userId=1'%20OR%20'1'='1", "", nil)); v.decision != "would_block" || v.score < 5 {
		t.Fatalf("want would_block with a score of 5 or more, got %+v", v)
	}
}

// Over a real gRPC connection on loopback, as Envoy calls it: a denial carries Envoy's answer to the client.
func TestCheckOverGRPC(t *testing.T) {
	c := newChecker(t, "On")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := grpc.NewServer()
	authv3.RegisterAuthorizationServer(server, c)
	go func() { _ = server.Serve(ln) }()
	defer server.Stop()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := authv3.NewAuthorizationClient(conn)
	req := request("GET", "/v1/feed?q=%3Cscript%3Ealert(1)%3C/script%3E", "", map[string]string{"x-request-id": "abc"})
	res, err := client.Check(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	d := res.GetDeniedResponse()
	if res.GetStatus().GetCode() != int32(code.Code_PERMISSION_DENIED) || d.GetStatus().GetCode() != 403 {
		t.Fatalf("want PERMISSION_DENIED with a 403, got %v", res)
	}
	var body map[string]string
	if err := json.Unmarshal([]byte(d.GetBody()), &body); err != nil || body["code"] != "WAF_BLOCKED" || body["requestId"] != "abc" {
		t.Fatalf("denied body %q", d.GetBody())
	}
	ok, err := client.Check(context.Background(), request("GET", "/v1/feed?limit=5", "", nil))
	if err != nil || ok.GetStatus().GetCode() != int32(code.Code_OK) {
		t.Fatalf("want OK, got %v %v", ok, err)
	}
}
