// Package podprobe sends real traffic from inside a cluster's network: it runs netcert-probe in
// netcert's probe pods (namespace netcert-system, fixtures/netcert-probes.yaml) through the API's
// exec subresource and decodes the probe's one-line result. It implements doctor.Prober.
package podprobe
