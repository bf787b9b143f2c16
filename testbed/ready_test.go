package testbed

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
)

func TestStartedTellsAPodThatNeverRan(t *testing.T) {
	waiting := corev1.ContainerStatus{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}
	assert.False(t, started(corev1.Pod{}), "no sandbox yet: no status")
	assert.False(t, started(corev1.Pod{Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{waiting}}}))
	running := corev1.ContainerStatus{State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
	assert.True(t, started(corev1.Pod{Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{waiting, running}}}))
	crashed := waiting
	crashed.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1}
	assert.True(t, started(corev1.Pod{Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{crashed}}}), "it ran, then crashed: not for this restart")
}
