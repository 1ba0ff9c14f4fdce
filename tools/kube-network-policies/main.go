// kube-network-policies, the NetworkPolicy engine of the local cluster's real
// node, run as a host process. Upstream's cmd/main.go only runs in a pod
// (rest.InClusterConfig), which this control plane cannot host: it refuses
// privileged pods. This main adds --kubeconfig, keeps NRI off (upstream's
// --disable-nri is not passed on to the controller, and the controller
// dereferences a missing NRI plugin) and leaves out the alpha
// (Baseline)AdminNetworkPolicy APIs. The package itself is built with the
// overlay made by scripts/setup-tools.sh (see overlay/).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	nodeutil "k8s.io/component-helpers/node/util"
	"k8s.io/klog/v2"
	"sigs.k8s.io/kube-network-policies/pkg/networkpolicy"
)

func main() {
	os.Exit(run())
}

func run() int {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig file of the API server (empty: the in-cluster config)")
	hostnameOverride := flag.String("hostname-override", "", "the Node name (default: the hostname)")
	queueID := flag.Int("nfqueue-id", 100, "the nfqueue the packets of pods are sent to")
	failOpen := flag.Bool("fail-open", false, "accept packets while no process listens on the queue")
	metricsAddress := flag.String("metrics-bind-address", ":9080", "host:port of the /metrics endpoint")
	disableNRI := flag.Bool("disable-nri", true, "take pod IPs from the API server only, not from the runtime's NRI")
	bug1766Fix := flag.Bool("netfilter-bug-1766-fix", true, "process DNS packets on the prerouting hooks (not needed on kernels 6.12+)")
	klog.InitFlags(nil)
	flag.Parse()

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()

	if _, _, err := net.SplitHostPort(*metricsAddress); err != nil {
		fmt.Fprintf(os.Stderr, "--metrics-bind-address: %v\n", err)
		return 2
	}
	nodeName, err := nodeutil.GetHostname(*hostnameOverride)
	if err != nil {
		fmt.Fprintf(os.Stderr, "node name: %v\n", err)
		return 2
	}
	// An empty path falls back to the in-cluster config, as upstream does.
	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubeconfig: %v\n", err)
		return 2
	}
	config.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	config.ContentType = "application/vnd.kubernetes.protobuf"
	clientset, err := kubernetes.NewForConfig(config)
	if err != nil {
		fmt.Fprintf(os.Stderr, "client: %v\n", err)
		return 1
	}

	http.Handle("/metrics", promhttp.Handler())
	go func() {
		if err := http.ListenAndServe(*metricsAddress, nil); err != nil {
			klog.ErrorS(err, "metrics server")
		}
	}()

	factory := informers.NewSharedInformerFactory(clientset, 0)
	controller, err := networkpolicy.NewController(
		clientset,
		factory.Networking().V1().NetworkPolicies(),
		factory.Core().V1().Namespaces(),
		factory.Core().V1().Pods(),
		nil, nil, nil, nil, // nodes and the AdminNetworkPolicy APIs: unused without them
		networkpolicy.Config{
			FailOpen:            *failOpen,
			QueueID:             *queueID,
			NodeName:            nodeName,
			NetfilterBug1766Fix: *bug1766Fix,
			NRIdisabled:         *disableNRI,
		},
	)
	if err != nil {
		klog.ErrorS(err, "creating the network policy controller")
		return 1
	}
	done := make(chan error, 1)
	go func() { done <- controller.Run(ctx) }()
	factory.Start(ctx.Done())

	select {
	case err := <-done:
		if ctx.Err() != nil {
			return 0 // stopped by a signal, rules removed
		}
		// Run returns before a signal only when it cannot work (the nfqueue).
		if err == nil {
			err = errors.New("stopped")
		}
		klog.ErrorS(err, "network policy controller")
		return 1
	case <-ctx.Done():
	}
	// Run removes its nftables rules on its way out: give it time to.
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		klog.Info("network policy controller did not stop within 5s")
	}
	return 0
}
