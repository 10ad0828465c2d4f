package host

import "time"

// Facts read by running commands and reading files through a System.
// Each reader returns what it could read and never fails the whole run:
// a missing tool is Available=false with a Note.

// SELinux is the state that matters to nginx connecting out.
type SELinux struct {
	Available bool   `json:"available"`
	Mode      string `json:"mode,omitempty"` // "enforcing", "permissive", "disabled"
	// NetworkConnect is the httpd_can_network_connect boolean.
	NetworkConnect bool `json:"httpd_can_network_connect"`
	// Denials are recent AVC denial lines naming nginx/httpd_t.
	Denials []string `json:"denials,omitempty"`
	Note    string   `json:"note,omitempty"`
}

// Rule is one firewall rule that can stop traffic.
type Rule struct {
	Tool   string `json:"tool"`   // "iptables", "ip6tables", "nft", "ufw", "firewalld"
	Text   string `json:"text"`   // the rule as the tool prints it
	Action string `json:"action"` // "reject", "drop", "accept"
	// Match: destination port (0 = any; Port..PortMax for a range) and
	// address/prefix ("" = any), chain. Except lists the ports of a negated
	// match ("! --dport 22"): the rule takes every port but those. NotDest
	// negates Dest the same way. Use Matches rather than the fields.
	Port    int        `json:"port,omitempty"`
	PortMax int        `json:"port_max,omitempty"`
	Except  []PortSpan `json:"except,omitempty"`
	Dest    string     `json:"dest,omitempty"`
	NotDest bool       `json:"not_dest,omitempty"`
	Chain   string     `json:"chain,omitempty"`
	// In and Out are the interfaces matched ("lo"), "" = any.
	In  string `json:"in,omitempty"`
	Out string `json:"out,omitempty"`
	// RejectWith is e.g. "icmp-host-unreachable", "tcp-reset", "icmp-port-unreachable".
	RejectWith string `json:"reject_with,omitempty"`
	// Delete is the argv that removes this rule (for a fix), when known.
	Delete []string `json:"delete,omitempty"`
}

// Firewall is the rules that could affect nginx's outgoing connections
// (OUTPUT chains and their jumps; INPUT too, since loopback traffic crosses it).
type Firewall struct {
	Tools []string `json:"tools"` // which tools answered
	Rules []Rule   `json:"rules"`
	Note  string   `json:"note,omitempty"`
}

// Unit is a systemd service's state.
type Unit struct {
	Name         string    `json:"name"`
	Active       string    `json:"active"` // ActiveState: active, failed, inactive, activating
	Sub          string    `json:"sub,omitempty"`
	Restarts     int       `json:"restarts"` // NRestarts
	Result       string    `json:"result,omitempty"`
	Since        time.Time `json:"since,omitempty"`
	MainPID      int32     `json:"main_pid,omitempty"`
	FragmentPath string    `json:"fragment_path,omitempty"`
	// Journal holds the unit's last log lines.
	Journal []string `json:"journal,omitempty"`
	// OOMKills are kernel lines about OOM kills of the unit's processes.
	OOMKills []string `json:"oom_kills,omitempty"`
}
