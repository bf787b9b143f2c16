package kube_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	appsv1 "k8s.io/api/apps/v1"

	"github.com/netcert/netcert/kube"
)

func TestDaemonSetReady(t *testing.T) {
	ds := func(mutate func(*appsv1.DaemonSet)) *appsv1.DaemonSet {
		d := &appsv1.DaemonSet{}
		d.Name, d.Generation = "probe-a", 1
		d.Status = appsv1.DaemonSetStatus{ObservedGeneration: 1, DesiredNumberScheduled: 3, NumberReady: 3, UpdatedNumberScheduled: 3}
		mutate(d)
		return d
	}
	ready, why := kube.DaemonSetReady(ds(func(*appsv1.DaemonSet) {}))
	assert.True(t, ready)
	assert.Equal(t, "probe-a: 3 of 3 ready and up to date", why)
	for name, mutate := range map[string]func(*appsv1.DaemonSet){
		"generation not observed": func(d *appsv1.DaemonSet) { d.Generation = 2 },
		"nothing scheduled":       func(d *appsv1.DaemonSet) { d.Status = appsv1.DaemonSetStatus{ObservedGeneration: 1} },
		"a pod not ready":         func(d *appsv1.DaemonSet) { d.Status.NumberReady = 2 },
		"a pod not up to date":    func(d *appsv1.DaemonSet) { d.Status.UpdatedNumberScheduled = 2 },
	} {
		ready, _ := kube.DaemonSetReady(ds(mutate))
		assert.False(t, ready, name)
	}
}
