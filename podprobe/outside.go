package podprobe

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
)

// DockerOutside returns a Prober.Outside that runs netcert-probe in a Docker container of this
// machine outside the cluster (the test bed's node-network host, a container of netcert's probe
// image on the cluster's Docker network).
func DockerOutside(container string) func(ctx context.Context, argv []string) ([]byte, []byte, string, error) {
	return func(ctx context.Context, argv []string) ([]byte, []byte, string, error) {
		args := append([]string{"exec", container}, argv...)
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, "docker", args...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.Bytes(), stderr.Bytes(), "docker " + strings.Join(args, " "), err
	}
}

// ContainerAddr returns the first IPv4 address of a Docker container ("" when it has none or
// Docker cannot say).
func ContainerAddr(ctx context.Context, container string) string {
	out, err := exec.CommandContext(ctx, "docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", container).Output()
	if err != nil {
		return ""
	}
	if f := strings.Fields(string(out)); len(f) > 0 {
		return f[0]
	}
	return ""
}
