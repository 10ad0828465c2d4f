package nginx

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseDuration reads nginx's time syntax: "60" (seconds), "500ms", "30s",
// "1m30s", "1h 30m", "2d", also w (week), M (30 days) and y (365 days).
func ParseDuration(s string) (time.Duration, error) {
	units := []struct {
		name string
		d    time.Duration
	}{
		{"y", 365 * 24 * time.Hour}, {"M", 30 * 24 * time.Hour}, {"w", 7 * 24 * time.Hour},
		{"d", 24 * time.Hour}, {"h", time.Hour}, {"ms", time.Millisecond},
		{"m", time.Minute}, {"s", time.Second},
	}
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, errors.New("empty time value")
	}
	var total time.Duration
	last := -1 // index of the last unit seen: units must come largest first, once each
	for in != "" {
		in = strings.TrimLeft(in, " ")
		i := 0
		for i < len(in) && in[i] >= '0' && in[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("invalid time value %q", s)
		}
		n, err := strconv.ParseInt(in[:i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid time value %q: %w", s, err)
		}
		in = in[i:]
		unit := time.Second
		matched := len(in) == 0 || in[0] == ' '
		if !matched {
			for ui, u := range units {
				if strings.HasPrefix(in, u.name) {
					if ui <= last {
						return 0, fmt.Errorf("invalid time value %q: units out of order", s)
					}
					last, unit, matched = ui, u.d, true
					in = in[len(u.name):]
					break
				}
			}
		}
		if !matched {
			return 0, fmt.Errorf("invalid time value %q", s)
		}
		if n > int64(math.MaxInt64/unit) || total > math.MaxInt64-time.Duration(n)*unit {
			return 0, fmt.Errorf("time value %q too large", s)
		}
		total += time.Duration(n) * unit
	}
	return total, nil
}

// ParseSize reads nginx's size syntax: "512", "4k", "8K", "1m", "1g".
func ParseSize(s string) (int64, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, errors.New("empty size value")
	}
	mult := int64(1)
	switch in[len(in)-1] {
	case 'k', 'K':
		mult = 1 << 10
	case 'm', 'M':
		mult = 1 << 20
	case 'g', 'G':
		mult = 1 << 30
	}
	if mult != 1 {
		in = in[:len(in)-1]
	}
	for _, r := range in {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("invalid size value %q", s)
		}
	}
	n, err := strconv.ParseInt(in, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size value %q: %w", s, err)
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size value %q too large", s)
	}
	return n * mult, nil
}

// defaults are nginx's built-in values for the settings a diagnosis weighs.
// Buffer sizes are "one memory page", 4k on x86-64 and most arm64.
var defaults = map[string]string{
	"resolver_timeout":    "30s",
	"client_body_timeout": "60s",
	"keepalive_timeout":   "75s",
	"proxy_http_version":  "1.0",
	"proxy_buffering":     "on",
	"proxy_buffers":       "8 4k",
}

func init() {
	for _, m := range []string{"proxy", "fastcgi", "uwsgi", "scgi", "grpc", "memcached"} {
		defaults[m+"_connect_timeout"] = "60s"
		defaults[m+"_read_timeout"] = "60s"
		defaults[m+"_send_timeout"] = "60s"
		defaults[m+"_buffer_size"] = "4k"
		defaults[m+"_next_upstream"] = "error timeout"
		defaults[m+"_next_upstream_tries"] = "0"
		defaults[m+"_next_upstream_timeout"] = "0"
	}
	for _, m := range []string{"fastcgi", "uwsgi", "scgi"} {
		defaults[m+"_buffers"] = "8 4k"
		defaults[m+"_buffering"] = "on"
	}
	for _, m := range []string{"proxy", "fastcgi", "uwsgi", "scgi"} {
		defaults[m+"_busy_buffers_size"] = "8k"
	}
	for _, m := range []string{"proxy", "grpc", "uwsgi"} {
		defaults[m+"_ssl_server_name"] = "off"
		defaults[m+"_ssl_verify"] = "off"
	}
}

// DefaultSetting returns nginx's default for a directive, "" when unknown.
func DefaultSetting(name string) string {
	return defaults[name]
}
