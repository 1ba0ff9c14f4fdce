// coraza-waf: the edge's WAF for the tests, without Envoy. A reverse proxy on
// loopback that judges every request with the real Coraza engine and the
// OWASP CRS, loaded with exactly the directives a stack renders
// (corazaDirectives in infra/components/ingress.ts), at the engine and rule
// set versions the stack's pinned coraza-proxy-wasm image embeds (go.mod;
// the mapping is infra/waf-versions.ts).
//
// It keeps the filter's order of work inside Envoy: the request headers are
// judged (phase 1) before anything goes upstream; a request with a body is
// buffered and judged (phase 2) before it goes upstream; a request without
// one goes upstream at once and its phase 2 runs when the response headers
// come back, so a block there replaces an answer the upstream already gave.
// Each request's outcome is one JSON line on stdout: the stage that decided,
// whether the upstream saw the request, the anomaly score and the matched
// rule ids. In DetectionOnly mode nothing is blocked and the line says what
// would have been.
//
//	coraza-waf -directives FILE -upstream URL [-listen 127.0.0.1:0]
//	coraza-waf -authz ADDR -upstream URL [-body-limit N] (Envoy's ext_authz filter: authz.go)
//
// FILE holds a JSON array of directive lines. The first stdout line is
// {"listening":"host:port"}.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"

	coreruleset "github.com/corazawaf/coraza-coreruleset/v4"
	"github.com/corazawaf/coraza/v3"
	"github.com/corazawaf/coraza/v3/types"
)

// The names coraza-proxy-wasm gives its embedded files, over the
// coraza-coreruleset module's copies of the same CRS release.
var aliases = map[string]string{
	"@recommended-conf": "@coraza.conf-recommended",
	"@crs-setup-conf":   "@crs-setup.conf.example",
}

// The filter's copy of crs-setup.conf differs from CRS's in one setting: early
// blocking is on (its README, "Multiphase"), so phase-1 rules can block at the
// end of phase 1, before the request goes upstream.
const earlyBlocking = `
SecAction "id:900120,phase:1,pass,t:none,nolog,setvar:tx.early_blocking=1"
`

type rulesFS struct{ fs.FS }

func (r rulesFS) name(n string) string {
	if i := strings.Index(n, "@"); i > 0 {
		n = n[i:]
	}
	if a, ok := aliases[n]; ok {
		return a
	}
	return n
}

func (r rulesFS) Open(n string) (fs.File, error) { return r.FS.Open(r.name(n)) }

func (r rulesFS) ReadFile(n string) ([]byte, error) {
	b, err := fs.ReadFile(r.FS, r.name(n))
	if err == nil && r.name(n) == aliases["@crs-setup-conf"] {
		b = append(b, earlyBlocking...)
	}
	return b, err
}

func (r rulesFS) ReadDir(n string) ([]fs.DirEntry, error) { return fs.ReadDir(r.FS, r.name(n)) }
func (r rulesFS) Glob(p string) ([]string, error)         { return fs.Glob(r.FS, r.name(p)) }

// outcome is one request's line on stdout.
type outcome struct {
	// The client's x-request-id, to match a line to its request.
	RequestID string `json:"requestId,omitempty"`
	Method    string `json:"method"`
	URI       string `json:"uri"`
	Status    int    `json:"status"`
	Blocked   bool   `json:"blocked"`
	Stage     string `json:"stage,omitempty"`
	Upstream  bool   `json:"upstream"`
	// Set in DetectionOnly mode when the anomaly score reached the threshold.
	WouldBlock bool   `json:"wouldBlock"`
	Score      int    `json:"score"`
	Rules      []int  `json:"rules"`
	Error      string `json:"error,omitempty"`
}

var totalScore = regexp.MustCompile(`Total Score: (\d+)`)

// The CRS rules that compare the inbound anomaly score with the threshold:
// at the end of phase 2, and at the end of phase 1 with early blocking.
var inboundBlockingRules = map[int]bool{949110: true, 949111: true}

// judge fills in the rules that matched with a message (the detections and
// the verdict; CRS's bookkeeping rules have none) and the anomaly score.
func judge(tx types.Transaction, o *outcome) {
	o.Rules = []int{}
	for _, m := range tx.MatchedRules() {
		id := m.Rule().ID()
		if id == 0 || m.Message() == "" {
			continue
		}
		o.Rules = append(o.Rules, id)
		if inboundBlockingRules[id] {
			o.WouldBlock = true
			if s := totalScore.FindStringSubmatch(m.Message()); s != nil {
				o.Score, _ = strconv.Atoi(s[1])
			}
		}
	}
}

type ctxKey struct{}

// pending is what travels with a request that went upstream before its phase 2.
type pending struct {
	tx       types.Transaction
	out      *outcome
	bodyless bool
}

var errBlocked = errors.New("blocked by the WAF")

var stdout = struct {
	sync.Mutex
	enc *json.Encoder
}{enc: json.NewEncoder(os.Stdout)}

func emit(v any) {
	stdout.Lock()
	defer stdout.Unlock()
	_ = stdout.enc.Encode(v)
}

func deny(w http.ResponseWriter, o *outcome, stage string, it *types.Interruption) {
	o.Blocked, o.Stage = true, stage
	o.Status = http.StatusForbidden
	if it.Status != 0 {
		o.Status = it.Status
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(o.Status)
	_, _ = io.WriteString(w, "blocked by the WAF\n")
}

func splitHostPort(addr string) (string, int) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, 0
	}
	p, _ := strconv.Atoi(port)
	return host, p
}

func main() {
	directivesFile := flag.String("directives", "", "JSON array of directive lines")
	upstream := flag.String("upstream", "", "the upstream's base URL")
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	authz := flag.String("authz", "", "ext_authz mode: the WAF service's gRPC address (authz.go)")
	bodyLimit := flag.Int64("body-limit", 65536, "ext_authz mode: the request body buffered for the Check")
	flag.Parse()
	if *authz != "" && *upstream != "" {
		target, err := url.Parse(*upstream)
		if err != nil {
			log.Fatal(err)
		}
		proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host
			r.SetXForwarded()
		}}
		handler, err := authzHandler(*authz, *bodyLimit, proxy)
		if err != nil {
			log.Fatal(err)
		}
		serve(*listen, handler)
		return
	}
	if *directivesFile == "" || *upstream == "" {
		log.Fatal("usage: coraza-waf -directives FILE -upstream URL [-listen ADDR] | -authz ADDR -upstream URL [-body-limit N]")
	}
	raw, err := os.ReadFile(*directivesFile)
	if err != nil {
		log.Fatal(err)
	}
	var lines []string
	if err := json.Unmarshal(raw, &lines); err != nil {
		log.Fatalf("%s: want a JSON array of directive lines: %v", *directivesFile, err)
	}
	waf, err := coraza.NewWAF(coraza.NewWAFConfig().
		WithRootFS(rulesFS{coreruleset.FS}).
		WithDirectives(strings.Join(lines, "\n")))
	if err != nil {
		log.Fatalf("directives refused by the engine: %v", err)
	}
	target, err := url.Parse(*upstream)
	if err != nil {
		log.Fatal(err)
	}

	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host
			r.SetXForwarded()
		},
		// The response headers: a bodiless request's phase 2 first, then phase 3.
		ModifyResponse: func(res *http.Response) error {
			p := res.Request.Context().Value(ctxKey{}).(*pending)
			if p.bodyless {
				if it, err := p.tx.ProcessRequestBody(); err != nil {
					return err
				} else if it != nil {
					p.out.Stage = "request_body"
					return errBlocked
				}
			}
			for k, vs := range res.Header {
				for _, v := range vs {
					p.tx.AddResponseHeader(k, v)
				}
			}
			if it := p.tx.ProcessResponseHeaders(res.StatusCode, res.Proto); it != nil {
				p.out.Stage = "response_headers"
				return errBlocked
			}
			p.out.Status = res.StatusCode
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			p := r.Context().Value(ctxKey{}).(*pending)
			if errors.Is(err, errBlocked) {
				stage := p.out.Stage
				deny(w, p.out, stage, p.tx.Interruption())
				return
			}
			p.out.Error = err.Error()
			p.out.Status = http.StatusBadGateway
			w.WriteHeader(http.StatusBadGateway)
		},
	}

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tx := waf.NewTransaction()
		out := &outcome{RequestID: r.Header.Get("X-Request-Id"), Method: r.Method, URI: r.URL.RequestURI()}
		defer func() {
			tx.ProcessLogging()
			judge(tx, out)
			_ = tx.Close()
			emit(out)
		}()
		cHost, cPort := splitHostPort(r.RemoteAddr)
		sHost, sPort := splitHostPort(r.Context().Value(http.LocalAddrContextKey).(net.Addr).String())
		tx.ProcessConnection(cHost, cPort, sHost, sPort)
		tx.ProcessURI(r.URL.RequestURI(), r.Method, r.Proto)
		tx.AddRequestHeader("Host", r.Host)
		tx.SetServerName(r.Host)
		for k, vs := range r.Header {
			for _, v := range vs {
				tx.AddRequestHeader(k, v)
			}
		}
		if it := tx.ProcessRequestHeaders(); it != nil {
			deny(w, out, "request_headers", it)
			return
		}
		bodyless := r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody
		if !bodyless {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, "request body: "+err.Error(), http.StatusBadRequest)
				return
			}
			if it, _, err := tx.WriteRequestBody(body); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			} else if it != nil {
				deny(w, out, "request_body", it)
				return
			}
			if it, err := tx.ProcessRequestBody(); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			} else if it != nil {
				deny(w, out, "request_body", it)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		}
		out.Upstream = true
		p := &pending{tx: tx, out: out, bodyless: bodyless}
		proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, p)))
	})

	serve(*listen, handler)
}

func serve(listen string, handler http.Handler) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		log.Fatal(err)
	}
	emit(map[string]string{"listening": ln.Addr().String()})
	srv := &http.Server{Handler: handler}
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
