// Package kubetest simulates, on client-go's fake clientset, the controllers that unit tests of
// netcert's API repairs and faults need.
package kubetest

import (
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

var deployments = appsv1.SchemeGroupVersion.WithResource("deployments")

// SimulateRollouts makes the fake clientset behave like the Deployment controller, slowly: an
// update that changes a Deployment's pod template bumps its generation, and the rollout completes
// (all replicas updated, ready and available) only after pollsToComplete more reads of it.
func SimulateRollouts(cs *fake.Clientset, pollsToComplete int) {
	var mu sync.Mutex
	pending := map[string]int{} // namespace/name -> reads left before the rollout completes
	cs.PrependReactor("update", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		d, ok := a.(k8stesting.UpdateAction).GetObject().(*appsv1.Deployment)
		if !ok || a.GetSubresource() != "" {
			return false, nil, nil
		}
		old, err := cs.Tracker().Get(deployments, d.Namespace, d.Name)
		if err != nil {
			return false, nil, nil
		}
		if !equality.Semantic.DeepEqual(old.(*appsv1.Deployment).Spec.Template, d.Spec.Template) {
			d.Generation = old.(*appsv1.Deployment).Generation + 1
			d.Status.UpdatedReplicas = 0
			mu.Lock()
			pending[d.Namespace+"/"+d.Name] = pollsToComplete
			mu.Unlock()
		}
		return false, nil, nil
	})
	cs.PrependReactor("get", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		g := a.(k8stesting.GetAction)
		key := g.GetNamespace() + "/" + g.GetName()
		mu.Lock()
		defer mu.Unlock()
		left, ok := pending[key]
		if !ok {
			return false, nil, nil
		}
		if left > 0 {
			pending[key] = left - 1
			return false, nil, nil
		}
		delete(pending, key)
		obj, err := cs.Tracker().Get(deployments, g.GetNamespace(), g.GetName())
		if err != nil {
			return false, nil, nil
		}
		d := obj.(*appsv1.Deployment)
		MarkRolledOut(d)
		_ = cs.Tracker().Update(deployments, d, d.Namespace)
		return false, nil, nil
	})
}

// MarkRolledOut sets d's status to a completed rollout of its current generation.
func MarkRolledOut(d *appsv1.Deployment) {
	n := int32(1)
	if d.Spec.Replicas != nil {
		n = *d.Spec.Replicas
	}
	d.Status.ObservedGeneration = d.Generation
	d.Status.Replicas, d.Status.UpdatedReplicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas = n, n, n, n
}

// CoreDNS returns kube-system's coredns Deployment with replicas replicas, fully rolled out.
func CoreDNS(replicas int32) *appsv1.Deployment {
	d := &appsv1.Deployment{}
	d.Namespace, d.Name, d.Generation = "kube-system", "coredns", 1
	d.Spec.Replicas = &replicas
	d.Spec.Template.Labels = map[string]string{"k8s-app": "kube-dns"}
	MarkRolledOut(d)
	return d
}
