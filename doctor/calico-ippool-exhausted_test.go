package doctor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

func TestCalicoIPPoolExhaustedNotOnFlannel(t *testing.T) {
	findings, err := CalicoIPPoolExhausted{}.Run(t.Context(), &Cluster{CNI: "flannel"})
	require.NoError(t, err)
	assert.Equal(t, NotApplicable, findings[0].Status)
}
