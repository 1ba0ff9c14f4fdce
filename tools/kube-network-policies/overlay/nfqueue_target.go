// Added to sigs.k8s.io/kube-network-policies/pkg/networkpolicy by the build
// overlay scripts/setup-tools.sh writes (patch.mjs replaces upstream's
// nftables `queue` verdicts by calls to nfqueueTarget). Self-contained, so
// this folder also compiles on its own.
package networkpolicy

import (
	"encoding/binary"

	"github.com/google/nftables/expr"
	"github.com/google/nftables/xt"
)

// NFQ_FLAG_BYPASS (linux/netfilter/xt_NFQUEUE.h): accept the packet when no
// process listens on the queue, as the verdict's `flags bypass`.
const nfqFlagBypass = 0x01

// nfqueueTarget sends a packet to queue num through the xtables NFQUEUE
// target (revision 3), which nftables runs through its compat layer
// (CONFIG_NFT_COMPAT), in place of the nftables `queue` verdict: that needs
// the nft_queue module, which some kernels lack. The userspace side (nfqueue)
// is the same for both.
func nfqueueTarget(num uint16, bypass bool) *expr.Target {
	var flags uint16
	if bypass {
		flags = nfqFlagBypass
	}
	// struct xt_NFQ_info_v3 { __u16 queuenum; __u16 queues_total; __u16 flags; }
	// in host byte order, padded to 8 bytes (XT_ALIGN) as iptables-nft sends it.
	info := make(xt.Unknown, 8)
	binary.NativeEndian.PutUint16(info[0:], num)
	binary.NativeEndian.PutUint16(info[2:], 1)
	binary.NativeEndian.PutUint16(info[4:], flags)
	return &expr.Target{Name: "NFQUEUE", Rev: 3, Info: &info}
}
