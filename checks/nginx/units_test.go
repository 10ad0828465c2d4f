package nginx

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"60", 60 * time.Second, false},
		{"60s", 60 * time.Second, false},
		{"1m30s", 90 * time.Second, false},
		{"1h 30m", 90 * time.Minute, false},
		{"500ms", 500 * time.Millisecond, false},
		{"1h", time.Hour, false},
		{"2d", 48 * time.Hour, false},
		{"1w", 7 * 24 * time.Hour, false},
		{"1M", 30 * 24 * time.Hour, false},
		{"1y", 365 * 24 * time.Hour, false},
		{"0", 0, false},
		{"", 0, true},
		{"s", 0, true},
		{"10x", 0, true},
		{"-5s", 0, true},
		{"30s1m", 0, true},
		{"1s1s", 0, true},
		{"99999999999999999999", 0, true},
		{"9999999999y", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseDuration(%q): got %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"512", 512, false},
		{"4k", 4096, false},
		{"8K", 8192, false},
		{"1m", 1 << 20, false},
		{"2G", 2 << 30, false},
		{"", 0, true},
		{"k", 0, true},
		{"4kb", 0, true},
		{"-1", 0, true},
		{"99999999999999999g", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseSize(%q): got %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestDefaultSetting(t *testing.T) {
	tests := map[string]string{
		"proxy_connect_timeout": "60s",
		"proxy_read_timeout":    "60s",
		"proxy_send_timeout":    "60s",
		"proxy_buffer_size":     "4k",
		"fastcgi_read_timeout":  "60s",
		"fastcgi_buffer_size":   "4k",
		"uwsgi_read_timeout":    "60s",
		"scgi_read_timeout":     "60s",
		"grpc_read_timeout":     "60s",
		"grpc_buffer_size":      "4k",
		"proxy_next_upstream":   "error timeout",
		"proxy_http_version":    "1.0",
		"resolver_timeout":      "30s",
		"no_such_directive":     "",
		"proxy_pass":            "",
	}
	for name, want := range tests {
		if got := DefaultSetting(name); got != want {
			t.Errorf("DefaultSetting(%q): got %q, want %q", name, got, want)
		}
	}
	// Every default must be readable by the parsers the diagnosis uses.
	for _, name := range []string{"proxy_read_timeout", "fastcgi_connect_timeout", "grpc_send_timeout", "keepalive_timeout"} {
		if _, err := ParseDuration(DefaultSetting(name)); err != nil {
			t.Errorf("ParseDuration(DefaultSetting(%q)): %v", name, err)
		}
	}
	for _, name := range []string{"proxy_buffer_size", "uwsgi_buffer_size", "proxy_busy_buffers_size"} {
		if _, err := ParseSize(DefaultSetting(name)); err != nil {
			t.Errorf("ParseSize(DefaultSetting(%q)): %v", name, err)
		}
	}
}
