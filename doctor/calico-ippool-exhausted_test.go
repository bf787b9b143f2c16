package doctor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/netcert/netcert/kube/kubetest"
)

func poolCluster(objs ...runtime.Object) *Cluster {
	return &Cluster{Client: fake.NewClientset(), Dynamic: kubetest.CalicoDynamic(objs...), CNI: "calico"}
}

func TestCalicoIPPoolExhausted(t *testing.T) {
	for name, tc := range map[string]struct {
		objs   []runtime.Object
		status Status
		says   string
		manual string
	}{
		"an enabled pool with room": {append([]runtime.Object{kubetest.CalicoPool("default-ipv4-ippool", "10.248.0.0/16", "Always", false)},
			kubetest.CalicoBlock("10.248.1.0/26", "w1", 5)...), Pass, "1 enabled IPPool(s) (default-ipv4-ippool 10.248.0.0/16): 65531 of 65536 addresses free", ""},
		"the only pool disabled": {append([]runtime.Object{kubetest.CalicoPool("default-ipv4-ippool", "10.248.0.0/16", "Always", true)},
			kubetest.CalicoBlock("10.248.1.0/26", "w1", 5)...), Fail, "every IPPool is disabled (default-ipv4-ippool 10.248.0.0/16)", `kubectl patch ippools.crd.projectcalico.org default-ipv4-ippool --type=merge -p '{"spec":{"disabled":false}}'`},
		"a disabled pool beside an enabled one (a migration)": {[]runtime.Object{kubetest.CalicoPool("old", "10.248.0.0/16", "Always", true),
			kubetest.CalicoPool("new", "10.250.0.0/16", "Always", false)}, Pass, "1 enabled IPPool(s) (new 10.250.0.0/16)", ""},
		"a full pool": {append([]runtime.Object{kubetest.CalicoPool("tiny", "10.248.0.0/30", "Always", false)},
			kubetest.CalicoBlock("10.248.0.0/30", "w1", 4)...), Fail, "the enabled IPPools (tiny 10.248.0.0/30) are full: 4 of 4 addresses in use", "add an IPPool for a free range"},
		"a nearly full pool": {append([]runtime.Object{kubetest.CalicoPool("small", "10.248.0.0/26", "Always", false)},
			kubetest.CalicoBlock("10.248.0.0/26", "w1", 62)...), Warn, "nearly full: 62 of 64", ""},
		"no pool": {nil, Fail, "no IPPool", "no IPPool exists"},
	} {
		t.Run(name, func(t *testing.T) {
			c := poolCluster(tc.objs...)
			findings, err := CalicoIPPoolExhausted{}.Run(t.Context(), c)
			require.NoError(t, err)
			require.Len(t, findings, 1)
			assert.Equal(t, tc.status, findings[0].Status, "%s", findings[0])
			assert.Contains(t, findings[0].Summary, tc.says)
			plan, err := CalicoIPPoolExhausted{}.Plan(t.Context(), c, findings)
			require.NoError(t, err)
			assert.Empty(t, plan.Actions)
			if tc.manual == "" {
				assert.True(t, plan.Empty())
				return
			}
			require.NotEmpty(t, plan.Manual)
			assert.Contains(t, plan.Manual[0], tc.manual)
			_, err = CalicoIPPoolExhausted{}.Apply(t.Context(), c, plan)
			assert.ErrorContains(t, err, "not applied automatically")
		})
	}
}

// withSelector is a pool with a nodeSelector.
func withSelector(name, cidr, sel string) runtime.Object {
	p := kubetest.CalicoPool(name, cidr, "Always", false)
	_ = unstructured.SetNestedField(p.Object, sel, "spec", "nodeSelector")
	return p
}

// A pool whose nodeSelector leaves a node out fails for that node; selectors netcert cannot read
// count as selecting.
func TestCalicoIPPoolExhaustedNodeSelectors(t *testing.T) {
	nodes := []runtime.Object{
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "w1", Labels: map[string]string{"zone": "a"}}},
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "w2", Labels: map[string]string{"zone": "b", "gpu": ""}}},
	}
	for sel, unserved := range map[string]string{
		"!all()":                   "w1, w2",
		"zone == 'a'":              "w2",
		`zone != "a"`:              "w1",
		"has(gpu)":                 "w1",
		"!has(gpu) && zone == 'a'": "w2",
		"all()":                    "",
		"zone in {'a','b'}":        "", // not evaluated: no alarm
	} {
		t.Run(sel, func(t *testing.T) {
			c := &Cluster{Client: fake.NewClientset(nodes...), Dynamic: kubetest.CalicoDynamic(withSelector("default-ipv4-ippool", "10.248.0.0/16", sel)), CNI: "calico"}
			findings, err := CalicoIPPoolExhausted{}.Run(t.Context(), c)
			require.NoError(t, err)
			plan, err := CalicoIPPoolExhausted{}.Plan(t.Context(), c, findings)
			require.NoError(t, err)
			if unserved == "" {
				assert.Equal(t, Pass, findings[0].Status, "%s", findings[0])
				assert.True(t, plan.Empty())
				return
			}
			assert.Equal(t, Fail, findings[0].Status)
			assert.Contains(t, findings[0].Summary, "no enabled IPPool selects node(s) "+unserved+" (default-ipv4-ippool nodeSelector ")
			require.Len(t, plan.Manual, 1)
			assert.Contains(t, plan.Manual[0], `kubectl patch ippools.crd.projectcalico.org default-ipv4-ippool --type=merge -p '{"spec":{"nodeSelector":"all()"}}'`)
		})
	}
}

func TestCalicoIPPoolExhaustedNotOnFlannel(t *testing.T) {
	findings, err := CalicoIPPoolExhausted{}.Run(t.Context(), &Cluster{CNI: "flannel"})
	require.NoError(t, err)
	assert.Equal(t, NotApplicable, findings[0].Status)
}
