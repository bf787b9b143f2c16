package doctor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/netcert/netcert/kube/kubetest"
	"github.com/netcert/netcert/traffic"
)

// Diagnosis is read-only: every check and every plan of every problem, on a healthy cluster and
// on a broken one, calls only the API's read verbs (recorded by the fake clients). What a check
// could not evaluate here does not matter: what it called before does.
func TestEveryCheckAndPlanOnlyReadsTheAPI(t *testing.T) {
	for _, cni := range []string{"flannel", "calico"} {
		for _, scenario := range []string{"flannel-healthy", "raw-drop"} {
			ctx := context.Background()
			c, _, _ := overlayCluster(t, cni, scenario, "-A PREROUTING -p udp -m udp --dport 8472")
			objs := []runtime.Object{apiNode("kind-control-plane", "172.18.0.2"), apiNode("kind-worker", "172.18.0.3"), apiNode("kind-worker2", "172.18.0.4"),
				flannelVXLANConfigMap("10.244.0.0/16"), kubetest.CoreDNS(2),
				&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "coredns", Namespace: "kube-system"},
					Data: map[string]string{"Corefile": hermeticCorefile(t, corednsDeadUpstream)}},
			}
			objs = append(objs, kubetest.ProbeServices()...)
			for _, n := range []string{"kind-control-plane", "kind-worker"} {
				objs = append(objs, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "probe-a-" + n, Namespace: traffic.Namespace,
					Labels: map[string]string{"app.kubernetes.io/name": "netcert-probe", "netcert.io/probe-set": "a"}},
					Spec: corev1.PodSpec{NodeName: n}, Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.244.0.9"}})
			}
			cs := fake.NewClientset(objs...)
			dyn := kubetest.CalicoDynamic(kubetest.CalicoPool("default-ipv4-ippool", "192.168.0.0/16", "Always", false),
				kubetest.CalicoPool("overlap", "172.18.255.0/26", "Always", false))
			c.Client, c.Dynamic, c.Traffic = cs, dyn, &pathSender{fail: []string{"kind-worker"}}
			c.Probe = &corednsAndPairs{overlay: c.Probe}
			for _, p := range Problems() {
				findings, _ := p.Run(ctx, c)
				_, _ = p.Plan(ctx, c, Explain(findings))
			}
			for _, a := range append(cs.Actions(), dyn.Actions()...) {
				assert.Contains(t, []string{"get", "list", "watch"}, a.GetVerb(), "%s %s: %s %s", cni, scenario, a.GetVerb(), a.GetResource().Resource)
			}
			assert.NotEmpty(t, cs.Actions())
			assert.Empty(t, kubetest.Disallowed(t, append(cs.Actions(), dyn.Actions()...), "netcert-doctor", "netcert-exec"),
				"fixtures/netcert-rbac.yaml's netcert-doctor role allows what the checks call")
		}
	}
}

// corednsAndPairs answers pod-to-pod probes like the overlay fake and DNS like a dead upstream.
type corednsAndPairs struct{ overlay Prober }

func (p *corednsAndPairs) PodPairs(ctx context.Context, pairs []NodePair) ([]PairResult, error) {
	return p.overlay.PodPairs(ctx, pairs)
}
func (p *corednsAndPairs) DNS(context.Context, string, string) (bool, Evidence, error) {
	return false, Evidence{Source: "dns", Output: "timeout"}, nil
}
