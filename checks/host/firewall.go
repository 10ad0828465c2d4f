package host

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// factTimeout bounds each command a fact reader runs.
const factTimeout = 5 * time.Second

func runFact(ctx context.Context, sys System, name string, args ...string) (Output, error) {
	ctx, cancel := context.WithTimeout(ctx, factTimeout)
	defer cancel()
	return sys.Run(ctx, name, args...)
}

// toolProblem says why a tool gave nothing usable, or "" when it answered.
func toolProblem(argv string, out Output, err error) string {
	switch {
	case errors.Is(err, exec.ErrNotFound):
		return strings.Fields(argv)[0] + " is not installed"
	case err != nil:
		return fmt.Sprintf("%s: %v", argv, err)
	case out.ExitCode != 0:
		msg := firstLine(string(out.Stderr))
		if msg == "" {
			msg = firstLine(string(out.Stdout))
		}
		return fmt.Sprintf("%s failed (exit %d): %s", argv, out.ExitCode, msg)
	}
	return ""
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// ReadFirewall reads the rules that could stop nginx's connections from
// iptables, ip6tables, nft, ufw and firewalld, whichever answer.
func ReadFirewall(ctx context.Context, sys System) Firewall {
	fw := Firewall{Tools: []string{}, Rules: []Rule{}}
	var notes []string
	answered := map[string]bool{}
	for _, tool := range []string{"iptables", "ip6tables"} {
		out, err := runFact(ctx, sys, tool, "-S")
		if p := toolProblem(tool+" -S", out, err); p != "" {
			notes = append(notes, p)
			continue
		}
		answered[tool] = true
		fw.Tools = append(fw.Tools, tool)
		fw.Rules = append(fw.Rules, ParseIptables(tool, string(out.Stdout))...)
	}

	out, err := runFact(ctx, sys, "nft", "-a", "list", "ruleset")
	if p := toolProblem("nft list ruleset", out, err); p != "" {
		notes = append(notes, p)
	} else {
		fw.Tools = append(fw.Tools, "nft")
		fw.Rules = append(fw.Rules, ParseNft(string(out.Stdout), answered["iptables"], answered["ip6tables"])...)
	}

	out, err = runFact(ctx, sys, "ufw", "status")
	if p := toolProblem("ufw status", out, err); p != "" {
		if !errors.Is(err, exec.ErrNotFound) {
			notes = append(notes, p)
		}
	} else {
		fw.Tools = append(fw.Tools, "ufw")
		fw.Rules = append(fw.Rules, ParseUfw(string(out.Stdout))...)
	}

	// firewalld's rules already show in nft/iptables; its zone summary is
	// kept as a note for a person to read.
	out, err = runFact(ctx, sys, "firewall-cmd", "--state")
	if err == nil && strings.TrimSpace(string(out.Stdout)) == "running" {
		fw.Tools = append(fw.Tools, "firewalld")
		if all, err := runFact(ctx, sys, "firewall-cmd", "--list-all"); err == nil && all.ExitCode == 0 {
			notes = append(notes, "firewalld is running: "+strings.Join(strings.Fields(string(all.Stdout)), " "))
		} else {
			notes = append(notes, "firewalld is running")
		}
	}
	fw.Note = strings.Join(notes, "; ")
	return fw
}

// tokenize splits an iptables -S line, honouring the double quotes it puts
// around values with spaces (comments).
func tokenize(line string) []string {
	var out []string
	var cur strings.Builder
	inQuote, has := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && inQuote && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
		case c == '"':
			inQuote = !inQuote
			has = true
		case (c == ' ' || c == '\t') && !inQuote:
			if has {
				out = append(out, cur.String())
				cur.Reset()
				has = false
			}
		default:
			cur.WriteByte(c)
			has = true
		}
	}
	if has {
		out = append(out, cur.String())
	}
	return out
}

var iptablesTargets = map[string]bool{
	"ACCEPT": true, "DROP": true, "REJECT": true, "RETURN": true, "LOG": true, "NFLOG": true,
	"MARK": true, "CONNMARK": true, "QUEUE": true, "NFQUEUE": true, "TCPMSS": true, "CT": true,
	"MASQUERADE": true, "SNAT": true, "DNAT": true, "REDIRECT": true, "AUDIT": true, "TRACE": true,
}

type iptRule struct {
	chain  string
	tokens []string // after "-A CHAIN"
	text   string
}

// ParseIptables reads `iptables -S` (or ip6tables) output: the -A rules that
// reject or drop, in chains reached from INPUT or OUTPUT (loopback traffic
// crosses both), and DROP policies of those two chains as rules with Port 0.
func ParseIptables(tool, text string) []Rule {
	var rules []iptRule
	var out []Rule
	jumps := map[string][]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		tok := tokenize(line)
		if len(tok) < 3 {
			continue
		}
		switch tok[0] {
		case "-P":
			if tok[2] == "DROP" && (tok[1] == "INPUT" || tok[1] == "OUTPUT") {
				out = append(out, Rule{Tool: tool, Text: line, Action: "drop", Chain: tok[1]})
			}
		case "-A":
			r := iptRule{chain: tok[1], tokens: tok[2:], text: line}
			rules = append(rules, r)
			if t := optionValue(r.tokens, "-j", "--jump", "-g", "--goto"); t != "" && !iptablesTargets[t] {
				jumps[r.chain] = append(jumps[r.chain], t)
			}
		}
	}
	reach := map[string]bool{"INPUT": true, "OUTPUT": true}
	for queue := []string{"INPUT", "OUTPUT"}; len(queue) > 0; queue = queue[1:] {
		for _, next := range jumps[queue[0]] {
			if !reach[next] {
				reach[next] = true
				queue = append(queue, next)
			}
		}
	}
	for _, r := range rules {
		if !reach[r.chain] {
			continue
		}
		out = append(out, iptablesRule(tool, r)...)
	}
	return out
}

// optionValue is the value after the first of names, "" if absent or negated.
func optionValue(tok []string, names ...string) string {
	v, neg := option(tok, names...)
	if neg {
		return ""
	}
	return v
}

func option(tok []string, names ...string) (value string, negated bool) {
	for i := 0; i+1 < len(tok); i++ {
		for _, n := range names {
			if tok[i] == n {
				return tok[i+1], i > 0 && tok[i-1] == "!"
			}
		}
	}
	return "", false
}

func iptablesRule(tool string, r iptRule) []Rule {
	target := optionValue(r.tokens, "-j", "--jump")
	if target != "REJECT" && target != "DROP" {
		return nil
	}
	// Rules for other protocols, or only for packets outside a new
	// connection (INVALID), never stop nginx from connecting.
	if p, neg := option(r.tokens, "-p", "--protocol"); p != "" && (!neg && p != "tcp" && p != "all" && p != "6" || neg && (p == "tcp" || p == "6")) {
		return nil
	}
	if st, neg := option(r.tokens, "--ctstate", "--state"); st != "" && !neg && !strings.Contains(st, "NEW") {
		return nil
	}
	base := Rule{
		Tool:   tool,
		Text:   r.text,
		Action: strings.ToLower(target),
		Chain:  r.chain,
		In:     optionValue(r.tokens, "-i", "--in-interface"),
		Out:    optionValue(r.tokens, "-o", "--out-interface"),
		Delete: append([]string{tool, "-D", r.chain}, r.tokens...),
	}
	if target == "REJECT" {
		base.RejectWith = optionValue(r.tokens, "--reject-with")
		if base.RejectWith == "" {
			base.RejectWith = "icmp-port-unreachable"
		}
	}
	if d, neg := option(r.tokens, "-d", "--destination"); d != "" {
		base.Dest, base.NotDest = asPrefix(d), neg
	}
	spec, neg := option(r.tokens, "--dport", "--destination-port")
	if spec == "" {
		spec, neg = option(r.tokens, "--dports", "--destination-ports")
	}
	return withPorts(base, spec, neg)
}

// PortSpan is a port range, both ends included (Lo == Hi for one port).
type PortSpan struct {
	Lo int `json:"lo"`
	Hi int `json:"hi"`
}

// Matches says whether the rule takes TCP traffic to ip (an address, or ""
// when unknown) and port, ranges and negations included; a rule bound to
// another interface than the one the traffic leaves by does not.
func (r Rule) Matches(ip string, port int) bool {
	for _, e := range r.Except {
		if port >= e.Lo && port <= e.Hi {
			return false
		}
	}
	if r.Port != 0 && (port < r.Port || port > max(r.Port, r.PortMax)) {
		return false
	}
	if r.Dest != "" {
		in := false
		if pf, err := netip.ParsePrefix(r.Dest); err == nil {
			if a, err := netip.ParseAddr(ip); err == nil {
				in = pf.Contains(a.Unmap())
			} else if ip != "" {
				return false // a name: what it resolves to is not known here
			}
		} else {
			in = r.Dest == ip
		}
		if in == r.NotDest {
			return false
		}
	}
	if a, err := netip.ParseAddr(ip); err == nil {
		lo := a.IsLoopback()
		if iface := r.Out; iface != "" && (iface == "lo") != lo {
			return false
		}
		if iface := r.In; iface != "" && (iface == "lo") != lo {
			return false
		}
	}
	return true
}

// withPorts makes one rule per span of spec ("80", "80,443", "8000:9000",
// nft's "8000-9000"); a negated spec is one rule taking every other port.
func withPorts(base Rule, spec string, negated bool) []Rule {
	if spec == "" {
		return []Rule{base}
	}
	spans := portSpans(spec)
	if len(spans) == 0 {
		return nil // unreadable: better no rule than one that blocks every port
	}
	if negated {
		base.Except = spans
		return []Rule{base}
	}
	out := make([]Rule, 0, len(spans))
	for _, sp := range spans {
		rule := base
		rule.Port = sp.Lo
		if sp.Hi != sp.Lo {
			rule.PortMax = sp.Hi
		}
		out = append(out, rule)
	}
	return out
}

// portSpans reads "80", "80,443", "8000:9000" (iptables, ufw) or
// "8000-9000" (nft); an open end (":1024", "1024:") reaches 0 or 65535.
func portSpans(s string) []PortSpan {
	var out []PortSpan
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, ":")
		if !isRange {
			lo, hi, isRange = strings.Cut(part, "-")
		}
		a, okA := portNumber(lo, 0)
		b, okB := a, okA
		if isRange {
			b, okB = portNumber(hi, 65535)
		}
		if !okA || !okB {
			return nil
		}
		if a > b {
			a, b = b, a // iptables swaps a reversed range too
		}
		if b < 1 {
			return nil // port 0 is no port
		}
		out = append(out, PortSpan{Lo: max(a, 1), Hi: b})
	}
	return out
}

func portNumber(s string, open int) (int, bool) {
	if s = strings.TrimSpace(s); s == "" {
		return open, true
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0 && n <= 65535
}

// asPrefix writes an address as a prefix ("127.0.0.1/32") so every tool's
// Dest reads the same way.
func asPrefix(s string) string {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.String()
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()).String()
	}
	return s
}

var (
	nftTableRe  = regexp.MustCompile(`^table\s+(\S+)\s+(\S+)\s*\{`)
	nftChainRe  = regexp.MustCompile(`^chain\s+(\S+)\s*\{`)
	nftHandleRe = regexp.MustCompile(`#\s*handle\s+(\d+)\s*$`)
	nftDportRe  = regexp.MustCompile(`\bdport\s+(!=\s*)?(\{[^}]*\}|\S+)`)
	nftDaddrRe  = regexp.MustCompile(`\bip6?\s+daddr\s+(!=\s*)?(\S+)`)
	nftIfRe     = regexp.MustCompile(`\b(oifname|iifname|oif|iif)\s+(!=\s*)?"?([^"\s]+)"?`)
)

// ParseNft reads `nft -a list ruleset`, best effort: rules that reject or
// drop (with their port and address when they name one) and drop policies of
// input/output hooks. The ip/ip6 "filter" tables are skipped when iptables
// (ip6tables) answered: under iptables-nft they are the same rules again.
func ParseNft(text string, skipIP, skipIP6 bool) []Rule {
	var out []Rule
	var family, table, chain, hook string
	skip := false
	for _, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if m := nftTableRe.FindStringSubmatch(line); m != nil {
			family, table, chain = m[1], m[2], ""
			skip = table == "filter" && ((family == "ip" && skipIP) || (family == "ip6" && skipIP6))
			continue
		}
		if m := nftChainRe.FindStringSubmatch(line); m != nil {
			chain, hook = m[1], ""
			continue
		}
		if skip || chain == "" {
			continue
		}
		body := strings.TrimSpace(nftHandleRe.ReplaceAllString(line, ""))
		if strings.HasPrefix(body, "type ") {
			if f := strings.Fields(body); len(f) >= 4 && f[2] == "hook" {
				hook = f[3]
			}
			if (hook == "input" || hook == "output") && strings.Contains(body, "policy drop") {
				out = append(out, Rule{Tool: "nft", Text: body, Action: "drop", Chain: chain})
			}
			continue
		}
		if hook == "forward" || hook == "prerouting" || hook == "postrouting" {
			continue
		}
		words := strings.Fields(body)
		action := ""
		for _, w := range words {
			if w == "reject" || w == "drop" {
				action = w
			}
		}
		if action == "" || (strings.Contains(body, "ct state") && !strings.Contains(body, "new")) {
			continue
		}
		if strings.Contains(body, "udp dport") || strings.Contains(body, "icmp") && !strings.Contains(body, "reject with icmp") {
			continue
		}
		base := Rule{Tool: "nft", Text: body, Action: action, Chain: chain}
		if m := nftDaddrRe.FindStringSubmatch(body); m != nil {
			base.Dest, base.NotDest = asPrefix(m[2]), m[1] != ""
		}
		for _, m := range nftIfRe.FindAllStringSubmatch(body, -1) {
			if m[2] != "" {
				continue
			}
			if strings.HasPrefix(m[1], "o") {
				base.Out = m[3]
			} else {
				base.In = m[3]
			}
		}
		if action == "reject" {
			base.RejectWith = nftRejectWith(words)
		}
		if m := nftHandleRe.FindStringSubmatch(line); m != nil {
			base.Delete = []string{"nft", "delete", "rule", family, table, chain, "handle", m[1]}
		}
		spec, neg := "", false
		if m := nftDportRe.FindStringSubmatch(body); m != nil {
			spec, neg = strings.NewReplacer("{", "", "}", "", " ", "").Replace(m[2]), m[1] != ""
		}
		out = append(out, withPorts(base, spec, neg)...)
	}
	return out
}

// nftRejectWith names nft's reject kind the way iptables does.
func nftRejectWith(words []string) string {
	for i, w := range words {
		if w != "with" || i+1 >= len(words) {
			continue
		}
		rest := words[i+1:]
		if len(rest) >= 2 && rest[0] == "tcp" && rest[1] == "reset" {
			return "tcp-reset"
		}
		if len(rest) >= 3 && rest[1] == "type" {
			prefix := "icmp-"
			if rest[0] == "icmpv6" {
				prefix = "icmp6-"
			}
			return prefix + rest[2]
		}
	}
	return "icmp-port-unreachable"
}

var ufwRuleRe = regexp.MustCompile(`^(.+?)\s{2,}(DENY|REJECT)(?:\s(IN|OUT|FWD))?\s{2,}(.+)$`)

// ParseUfw reads `ufw status`: the DENY and REJECT lines that name a port.
func ParseUfw(text string) []Rule {
	var out []Rule
	if strings.Contains(text, "Status: inactive") {
		return out
	}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		m := ufwRuleRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		to, action, dir := strings.TrimSpace(strings.TrimSuffix(m[1], "(v6)")), m[2], m[3]
		to = strings.TrimSpace(to)
		if strings.HasSuffix(to, "/udp") {
			continue
		}
		r := Rule{Tool: "ufw", Text: line, Action: "drop", Chain: "ufw-user-input"}
		if action == "REJECT" {
			r.Action, r.RejectWith = "reject", "icmp-port-unreachable"
		}
		if dir == "OUT" {
			r.Chain = "ufw-user-output"
		}
		f := strings.Fields(to)
		spec := f[len(f)-1]
		if len(f) > 1 && f[0] != "Anywhere" {
			r.Dest = asPrefix(f[0]) // "127.0.0.1 9000/tcp"
		}
		portPart, _, _ := strings.Cut(spec, "/")
		if len(portSpans(portPart)) == 0 {
			continue // an application profile name ("Nginx Full"), not ports
		}
		if len(f) == 1 && strings.HasPrefix(m[4], "Anywhere") {
			del := []string{"ufw", "delete", strings.ToLower(action)}
			if dir == "OUT" {
				del = append(del, "out")
			}
			r.Delete = append(del, spec)
		}
		out = append(out, withPorts(r, portPart, false)...)
	}
	return out
}
