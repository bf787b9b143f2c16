package kubetest

import (
	"bytes"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"

	"github.com/netcert/netcert/fixtures"
)

// TestingT is what Disallowed needs of a test.
type TestingT interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Disallowed returns each recorded API call that the ClusterRoles named (from
// fixtures/netcert-rbac.yaml, the roles netcert documents) do not allow, as "verb group/resource".
func Disallowed(t TestingT, actions []k8stesting.Action, roles ...string) []string {
	t.Helper()
	manifest, err := fixtures.Render("netcert-rbac.yaml", nil)
	if err != nil {
		t.Fatalf("%v", err)
	}
	var rules []rbacv1.PolicyRule
	for _, doc := range bytes.Split(manifest, []byte("\n---\n")) {
		var role rbacv1.ClusterRole
		if err := yaml.Unmarshal(doc, &role); err != nil {
			t.Fatalf("netcert-rbac.yaml: %v", err)
		}
		if slices.Contains(roles, role.Name) {
			rules = append(rules, role.Rules...)
		}
	}
	var out []string
	for _, a := range actions {
		resource := a.GetResource().Resource
		if sub := a.GetSubresource(); sub != "" {
			resource += "/" + sub
		}
		if !allows(rules, a.GetVerb(), a.GetResource().Group, resource) {
			out = append(out, strings.TrimSuffix(a.GetVerb()+" "+a.GetResource().Group+"/"+resource, "/"))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func allows(rules []rbacv1.PolicyRule, verb, group, resource string) bool {
	for _, r := range rules {
		if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb) {
			return true
		}
	}
	return false
}
