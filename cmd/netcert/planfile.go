package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/netcert/netcert/doctor"
)

// planFileVersion is the version of the plan file's format.
const planFileVersion = 1

// defaultPlanFile is where `netcert repair` writes its plan.
const defaultPlanFile = "netcert-plan.json"

// planFile is what `netcert repair` planned, for a person to review and `repair --apply FILE` to
// carry out exactly.
type planFile struct {
	Version int       `json:"version"`
	Created time.Time `json:"created"`
	Cluster string    `json:"cluster"` // the API server the plan was made for
	// DeleteHostRanges is the consent --delete-host-ranges gave when the plan was made.
	DeleteHostRanges bool `json:"delete_host_ranges,omitempty"`
	// RootCauses are the refs of the root causes the plans repair, in causal order.
	RootCauses []string   `json:"root_causes"`
	Plans      []filePlan `json:"plans"`
}

// filePlan is one check's plan for its root causes.
type filePlan struct {
	Refs []string    `json:"refs"`
	Plan doctor.Plan `json:"plan"`
}

func writePlanFile(path string, pf planFile) error {
	b, err := json.MarshalIndent(pf, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write the plan file: %w", err)
	}
	return nil
}

func readPlanFile(path string) (planFile, error) {
	var pf planFile
	b, err := os.ReadFile(path)
	if err != nil {
		return pf, fmt.Errorf("read the plan file: %w (`netcert repair` writes one)", err)
	}
	if err := json.Unmarshal(b, &pf); err != nil {
		return pf, fmt.Errorf("plan file %s: %w", path, err)
	}
	if pf.Version != planFileVersion {
		return pf, fmt.Errorf("plan file %s has version %d; this netcert reads version %d: plan again", path, pf.Version, planFileVersion)
	}
	return pf, nil
}

// newPlanFile records the plans of the root causes.
func newPlanFile(cluster string, roots []doctor.Finding, plans []rootPlan) planFile {
	pf := planFile{Version: planFileVersion, Created: time.Now().UTC().Round(time.Second), Cluster: cluster}
	for _, r := range roots {
		pf.RootCauses = append(pf.RootCauses, r.Ref())
	}
	for _, p := range plans {
		pf.Plans = append(pf.Plans, filePlan{Refs: p.refs, Plan: p.plan})
	}
	return pf
}

// sameAs says how the plans made now differ from the file's for the same root causes; "" when
// they do not.
func (fp filePlan) sameAs(now rootPlan) string {
	a, _ := json.Marshal(fp.Plan)
	b, _ := json.Marshal(now.plan)
	switch {
	case !slices.Equal(fp.Refs, now.refs):
		return fmt.Sprintf("%s's root causes were %v and are %v now", fp.Plan.Check, fp.Refs, now.refs)
	case string(a) != string(b):
		return fmt.Sprintf("%s would now plan %s instead of %s", fp.Plan.Check, b, a)
	}
	return ""
}
