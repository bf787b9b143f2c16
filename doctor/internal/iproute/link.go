package iproute

import (
	"encoding/json"
	"slices"
	"strconv"
)

// LinkShowArgv is the command whose output ParseLink reads: every interface with its details
// (kind, bridge port settings).
var LinkShowArgv = []string{"ip", "-j", "-d", "link", "show"}

// Link is one network interface, from `ip -j -d link show`.
type Link struct {
	Index     int
	Name      string
	Kind      string // "bridge", "veth", "vxlan", …; "" for a plain device
	Master    string // the bridge (or bond) it is a port of
	SlaveKind string // "bridge" when Master is a bridge
	Up        bool   // administratively up (the UP flag)
	LowerUp   bool   // the carrier is up (LOWER_UP)
	MTU       int
	// PeerNetns: the device's peer (a veth's other end) is in another network namespace, as a
	// pod's interface is (link_netnsid).
	PeerNetns bool
	// PeerIndex is a veth's peer's interface index (in the peer's namespace: eth0@if12).
	PeerIndex int
	// Lower is the device an encapsulating interface (a VXLAN's "dev") sends through.
	Lower string
	// Hairpin is a bridge port's hairpin mode (a frame may leave through the port it came in);
	// nil when not a bridge port (SlaveKind "bridge") or not printed.
	Hairpin *bool
}

// ParseLink parses `ip -j -d link show`. Keys it does not know are left aside; a scalar of
// another JSON type than iproute2 prints reads as text (a bad MTU reads as 0).
func ParseLink(out []byte) ([]Link, error) {
	var raw []struct {
		IfIndex  jsonText  `json:"ifindex"`
		IfName   jsonText  `json:"ifname"`
		NetnsID  *jsonText `json:"link_netnsid"`
		Flags    jsonTexts `json:"flags"`
		MTU      jsonText  `json:"mtu"`
		Master   jsonText  `json:"master"`
		PeerIdx  jsonText  `json:"link_index"`
		LinkInfo struct {
			Kind jsonText `json:"info_kind"`
			Data struct {
				Lower jsonText `json:"link"`
			} `json:"info_data"`
			SlaveKind jsonText       `json:"info_slave_kind"`
			SlaveData map[string]any `json:"info_slave_data"`
		} `json:"linkinfo"`
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		return nil, jsonError("ip -j -d link show", out, err)
	}
	links := make([]Link, 0, len(raw))
	for _, r := range raw {
		l := Link{Index: natural(r.IfIndex), Name: string(r.IfName), PeerNetns: r.NetnsID != nil, Kind: string(r.LinkInfo.Kind), Master: string(r.Master), SlaveKind: string(r.LinkInfo.SlaveKind),
			Up: slices.Contains(r.Flags, "UP"), LowerUp: slices.Contains(r.Flags, "LOWER_UP"), MTU: natural(r.MTU),
			PeerIndex: natural(r.PeerIdx), Lower: string(r.LinkInfo.Data.Lower)}
		if h, ok := r.LinkInfo.SlaveData["hairpin"].(bool); ok && l.SlaveKind == "bridge" {
			l.Hairpin = &h
		}
		links = append(links, l)
	}
	return links, nil
}

// natural reads a count or an index: anything but a non-negative integer reads as 0.
func natural(t jsonText) int {
	n, err := strconv.Atoi(string(t))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// BridgePorts returns, per bridge, the names of its ports.
func BridgePorts(links []Link) map[string][]string {
	bridges := map[string][]string{}
	for _, l := range links {
		if l.Kind == "bridge" {
			bridges[l.Name] = nil
		}
	}
	for _, l := range links {
		if _, ok := bridges[l.Master]; ok && l.Master != "" {
			bridges[l.Master] = append(bridges[l.Master], l.Name)
		}
	}
	return bridges
}
