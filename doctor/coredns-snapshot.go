package doctor

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netcert/netcert/kube"
)

// SnapshotCorefile is the one step of the doctor that writes, and only when asked (netcert
// snapshot, the test bed's healthy baseline): it keeps the CoreDNS Corefile as the last known-good
// one (kube-system/netcert-known-good-corefile), which coredns-forward-broken's repair falls back
// on, when every forward target of it was probed and answered. kept says whether that ConfigMap
// now holds this Corefile; what says what it did, or why not.
func SnapshotCorefile(ctx context.Context, c *Cluster, check CoreDNSForwardBroken) (kept bool, what string, err error) {
	_, before, _, err := readCorefile(ctx, c)
	if err != nil {
		return false, "", err
	}
	findings, err := check.Run(ctx, c)
	if err != nil {
		return false, "", err
	}
	answered := 0
	for _, f := range findings {
		switch f.Status {
		case Pass:
			answered++
		case Fail, NotApplicable:
			return false, fmt.Sprintf("not kept: the Corefile is not known to be good (%s)", f), nil
		}
	}
	if answered == 0 {
		return false, "not kept: no forward target was probed", nil
	}
	_, after, _, err := readCorefile(ctx, c)
	if err != nil {
		return false, "", err
	}
	if after.Source != before.Source {
		return false, "not kept: the Corefile changed while its targets were probed", nil
	}
	changed, err := saveKnownGood(ctx, c, after.Source)
	if err != nil {
		return false, "", fmt.Errorf("keep the known-good Corefile: %w", err)
	}
	if !changed {
		return true, fmt.Sprintf("configmap/%s/%s already holds this Corefile", kube.CoreDNSNamespace, KnownGoodCorefile), nil
	}
	return true, fmt.Sprintf("kept the Corefile (%d forward target(s) answered) in configmap/%s/%s", answered, kube.CoreDNSNamespace, KnownGoodCorefile), nil
}

// saveKnownGood keeps corefile in the known-good ConfigMap, unless it is already there; changed
// says whether it wrote.
func saveKnownGood(ctx context.Context, c *Cluster, corefile string) (changed bool, err error) {
	cms := c.Client.CoreV1().ConfigMaps(kube.CoreDNSNamespace)
	hash := kube.SHA256(corefile)
	cm, err := cms.Get(ctx, KnownGoodCorefile, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
			Name: KnownGoodCorefile, Namespace: kube.CoreDNSNamespace,
			Labels:      map[string]string{"app.kubernetes.io/managed-by": "netcert"},
			Annotations: map[string]string{kube.CorefileHashAnnotation: hash},
		}, Data: map[string]string{kube.CorefileKey: corefile}}
		_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
		return err == nil, err
	case err != nil:
		return false, err
	case cm.Annotations[kube.CorefileHashAnnotation] == hash && cm.Data[kube.CorefileKey] == corefile:
		return false, nil
	}
	if cm.Annotations == nil {
		cm.Annotations = map[string]string{}
	}
	cm.Annotations[kube.CorefileHashAnnotation] = hash
	cm.Data = map[string]string{kube.CorefileKey: corefile}
	_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
	return err == nil, err
}
