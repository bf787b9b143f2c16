package podprobe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netcert/netcert/doctor"
	"github.com/netcert/netcert/traffic"
)

// fakeOutside answers probe command lines as a host would: batch when it knows batch, each
// command's result line; lose drops the batch's last line.
func fakeOutside(knowsBatch, lose bool) (func(ctx context.Context, argv []string) ([]byte, []byte, string, error), *[]string) {
	var ran []string
	line := func(args []string) string {
		return fmt.Sprintf(`{"kind":%q,"target":%q,"ok":%v,"latency_ms":1,"detail":"","error":""}`, args[0], args[len(args)-1], !strings.HasSuffix(args[len(args)-1], ":9"))
	}
	return func(ctx context.Context, argv []string) ([]byte, []byte, string, error) {
		ran = append(ran, argv[1])
		source := "docker exec host " + strings.Join(argv, " ")
		if argv[1] != "batch" {
			return []byte(line(argv[1:]) + "\n"), nil, source, nil
		}
		if !knowsBatch {
			return nil, []byte(`netcert-probe: usage error: unknown subcommand "batch"`), source, errors.New("exit status 2")
		}
		var lines [][]string
		if err := json.Unmarshal([]byte(argv[2]), &lines); err != nil {
			return nil, nil, source, err
		}
		if lose {
			lines = lines[:len(lines)-1]
		}
		var out strings.Builder
		for _, l := range lines {
			out.WriteString(line(l) + "\n")
		}
		return []byte(out.String()), nil, source, nil
	}, &ran
}

func outsideCases() []traffic.Case {
	return []traffic.Case{
		{Path: traffic.ExternalToNodePort, Name: "to n1", External: true, Args: []string{"tcp", "--timeout", "2s", "172.18.0.2:30080"}},
		{Path: traffic.ExternalToNodePort, Name: "to n2", External: true, Args: []string{"tcp", "--timeout", "2s", "172.18.0.3:9"}},
	}
}

func TestSendBatchRunsOneProcessAndKeepsEachCaseItsOwnSource(t *testing.T) {
	outside, ran := fakeOutside(true, false)
	p := &Prober{Outside: outside}
	results, err := traffic.Run(context.Background(), p, outsideCases())
	require.NoError(t, err)
	assert.Equal(t, []string{"batch"}, *ran, "one process for the sender's two cases")
	require.Len(t, results, 2)
	assert.True(t, results[0].OK)
	assert.False(t, results[1].OK, "each line is its own case's")
	assert.Equal(t, "docker exec host /netcert-probe tcp --timeout 2s 172.18.0.3:9", results[1].Source, "a command a person can run alone")
	assert.Contains(t, results[1].Output, "172.18.0.3:9")
}

func TestSendBatchFailsWhenAResultIsMissing(t *testing.T) {
	outside, _ := fakeOutside(true, true)
	_, err := (&Prober{Outside: outside}).SendBatch(context.Background(), outsideCases())
	require.Error(t, err, "a lost line is no result, never a pass or a fail")
	assert.Contains(t, err.Error(), "1 result lines")
}

func TestSendBatchFallsBackToOneByOneOnAnOlderProbe(t *testing.T) {
	outside, ran := fakeOutside(false, false)
	results, err := (&Prober{Outside: outside}).SendBatch(context.Background(), outsideCases())
	require.NoError(t, err)
	assert.Equal(t, []string{"batch", "tcp", "tcp"}, *ran)
	assert.True(t, results[0].OK)
	assert.False(t, results[1].OK)
}

func probePod(name, node, ip string) corev1.Pod {
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: Namespace, Name: name},
		Spec: corev1.PodSpec{NodeName: node}, Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip}}
}

func TestPairCasesSendFromEachPairsPodToTheOther(t *testing.T) {
	running := []corev1.Pod{probePod("probe-a-1", "n1", "10.244.0.5"), probePod("probe-a-2", "n2", ""), probePod("probe-a-3", "n2", "10.244.1.7")}
	cases, err := pairCases(running, []doctor.NodePair{{From: "n1", To: "n2"}, {From: "n2", To: "n1"}}, pairProbe)
	require.NoError(t, err)
	require.Len(t, cases, 2)
	assert.Equal(t, "probe-a-1", cases[0].From.Name)
	assert.Equal(t, "10.244.1.7:8082", cases[0].Args[len(cases[0].Args)-1], "the pod with an address, not the one still starting")
	assert.Equal(t, "probe-a-3", cases[1].From.Name)
	assert.Equal(t, "10.244.0.5:8082", cases[1].Args[len(cases[1].Args)-1])
	assert.Equal(t, Container, cases[1].Container)
	assert.Equal(t, traffic.PodToPodCrossNode, cases[1].Path, "named in an error of traffic.Run")
	assert.Equal(t, []string{"udp", "--timeout", "600ms", "--resend", "150ms", "10.244.0.5:8082"}, cases[1].Args)

	_, err = pairCases(running, []doctor.NodePair{{From: "n1", To: "n3"}}, pairProbe)
	assert.ErrorContains(t, err, "no running netcert probe pod on node n3")
}

// An image older than `udp --resend` refuses it, in a batch as one by one; any other failure is
// not taken for that.
func TestOlderProbeIsToldByItsRefusalOfResend(t *testing.T) {
	outside, _ := fakeOutside(true, false)
	p := &Prober{Outside: func(ctx context.Context, argv []string) ([]byte, []byte, string, error) {
		if strings.Contains(strings.Join(argv, " "), "--resend") {
			return nil, []byte(`netcert-probe: batch: command line 0 ("udp"): usage error: udp: flag provided but not defined: -resend`), "docker exec host", errors.New("exit status 2")
		}
		return outside(ctx, argv)
	}}
	pair := func(args ...string) traffic.Case {
		return traffic.Case{Path: traffic.ExternalToNodePort, Name: "n1", External: true, Args: append(args, "172.18.0.2:8082")}
	}
	_, err := traffic.Run(context.Background(), p, []traffic.Case{pair(pairProbe...), pair(pairProbe...)})
	assert.True(t, olderProbe(err), "%v", err)
	_, err = traffic.Run(context.Background(), p, []traffic.Case{pair(olderPairProbe...), pair(olderPairProbe...)})
	assert.NoError(t, err)
	assert.False(t, olderProbe(errors.New("exit status 2: no probe result")))
	assert.False(t, olderProbe(nil))
}
