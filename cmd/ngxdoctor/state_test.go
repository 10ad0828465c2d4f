package main

import (
	"os"
	"testing"

	"github.com/ngxdoctor/ngxdoctor/lab/labtest"
)

// The binaries these tests start inherit NGXDOCTOR_STATE_DIR: a fix or an
// undo they run journals into a temp directory, never /var/lib/ngxdoctor.
func TestMain(m *testing.M) { os.Exit(labtest.Main(m)) }
