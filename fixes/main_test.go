package fixes

import (
	"os"
	"testing"

	"github.com/ngxdoctor/ngxdoctor/lab/labtest"
)

// Every test's journal is a temp directory: Default() and every binary the
// tests start read NGXDOCTOR_STATE_DIR, never the machine's /var/lib/ngxdoctor.
func TestMain(m *testing.M) { os.Exit(labtest.Main(m)) }
