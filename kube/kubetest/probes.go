package kubetest

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/netcert/netcert/traffic"
)

// ProbeServices are netcert's probe Services that the pod-to-service paths go through, with
// cluster IPs 10.96.7.7, 10.96.7.8, …
func ProbeServices() []runtime.Object {
	var out []runtime.Object
	for i, name := range traffic.ClusterIPServices {
		out = append(out, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: traffic.Namespace},
			Spec: corev1.ServiceSpec{ClusterIP: "10.96.7." + string(rune('7'+i))}})
	}
	return out
}
