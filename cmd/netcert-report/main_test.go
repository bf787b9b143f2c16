package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/reports"
)

func TestMergesTheSuitesReports(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "suites")
	for _, suite := range []string{"flannel", "calico"} {
		r := reports.NewRecorder(suite, suite)
		r.Infrastructure(time.Second, nil)
		_, err := reports.WriteFiles(in, suite, r.Report())
		require.NoError(t, err)
	}
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"-in", in, "-out", dir}, &stdout, &stderr), stderr.String())
	assert.Contains(t, stdout.String(), "merged 2 run(s) from 2 file(s)")
	rep, err := reports.ReadJSON(filepath.Join(dir, "report.json"))
	require.NoError(t, err)
	assert.Len(t, rep.Runs, 2)
	for _, ext := range []string{".junit.xml", ".html", ".md"} {
		assert.FileExists(t, filepath.Join(dir, "report"+ext))
	}
}

func TestNoReportStillWritesAValidEmptyOne(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"-in", filepath.Join(dir, "none"), "-out", dir}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "no suite report in")
	rep, err := reports.ReadJSON(filepath.Join(dir, "report.json"))
	require.NoError(t, err)
	assert.Empty(t, rep.Runs)
}

func TestRefusesABrokenReport(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte("{"), 0o644))
	var stdout, stderr bytes.Buffer
	assert.Equal(t, 1, run([]string{"-out", dir, bad}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "not a netcert report")
}
