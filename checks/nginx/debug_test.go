package nginx

import (
	"context"
	"encoding/json"
	"os"
	"testing"
)

func TestDebugDump(t *testing.T) {
	p := os.Getenv("NGXDUMP")
	if p == "" {
		t.Skip()
	}
	c, err := Load(context.Background(), osSystem{}, p)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.MarshalIndent(struct {
		C *Config
		T []Target
	}{c, c.Targets()}, "", " ")
	os.Stdout.Write(b)
}
