package main

import (
	"reflect"
	"testing"
)

// statusSample is /proc/self/status from the VM whose bounding set lacks
// CAP_SYS_RESOURCE (24), trimmed.
const statusSample = `Name:	cat
Umask:	0022
State:	R (running)
Pid:	4242
CapInh:	0000000000000000
CapPrm:	000001fffeffffff
CapEff:	000001fffeffffff
CapBnd:	000001fffeffffff
CapAmb:	0000000000000000
NoNewPrivs:	0
Seccomp:	0
`

func TestParseCapBnd(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		want    capSet
		missing []string
		wantErr bool
	}{
		{"VM without CAP_SYS_RESOURCE", statusSample, 0x000001fffeffffff, []string{"CAP_SYS_RESOURCE"}, false},
		{"complete set (cap_last_cap 40)", "CapBnd:\t000001ffffffffff\n", 0x000001ffffffffff, nil, false},
		{"older kernel (cap_last_cap 37)", "CapBnd:\t0000003fffffffff\n", 0x3fffffffff,
			[]string{"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"}, false},
		{"docker default set", "CapBnd:\t00000000a80425fb\n", 0xa80425fb, nil, false},
		{"no CapBnd line", "Name:\tx\nCapEff:\t0\n", 0, nil, true},
		{"bad hex", "CapBnd:\tzz\n", 0, nil, true},
		{"CapBndX is not CapBnd", "CapBndX:\t0\n", 0, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCapBnd(tt.status)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseCapBnd: err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got != tt.want {
				t.Errorf("parseCapBnd = %#x, want %#x", uint64(got), uint64(tt.want))
			}
			if tt.missing != nil && !reflect.DeepEqual(got.missing(), tt.missing) {
				t.Errorf("missing() = %v, want %v", got.missing(), tt.missing)
			}
		})
	}
}

func TestCapNumber(t *testing.T) {
	tests := []struct {
		name string
		want uint
		ok   bool
	}{
		{"CAP_CHOWN", 0, true},
		{"CAP_SYS_ADMIN", 21, true},
		{"CAP_SYS_RESOURCE", 24, true},
		{"CAP_CHECKPOINT_RESTORE", 40, true},
		{"cap_net_admin", 12, true},
		{"NET_RAW", 13, true},
		{"CAP_FUTURE_THING", 0, false},
	}
	for _, tt := range tests {
		got, ok := capNumber(tt.name)
		if got != tt.want || ok != tt.ok {
			t.Errorf("capNumber(%q) = %d, %v, want %d, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
	if len(capNumbers) != 41 {
		t.Errorf("table has %d capabilities, want 41 (0..40)", len(capNumbers))
	}
	seen := map[uint]string{}
	for name, n := range capNumbers {
		if other, dup := seen[n]; dup || n > 40 {
			t.Errorf("%s = %d (duplicate of %q or out of range)", name, n, other)
		}
		seen[n] = name
	}
}

func TestBoundingSetOfThisProcess(t *testing.T) {
	if _, err := boundingSet(); err != nil {
		t.Fatal(err)
	}
}
