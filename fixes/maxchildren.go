package fixes

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/ngxdoctor/ngxdoctor/checks"
)

// maxChildrenLine and backlogLine are a pool's pm.max_children and
// listen.backlog lines: indent, key and "=", value, a comment.
var (
	maxChildrenLine = regexp.MustCompile(`^(\s*pm\.max_children\s*=\s*)(\d+)(\s*(?:;.*)?)$`)
	backlogLine     = regexp.MustCompile(`^(\s*listen\.backlog\s*=\s*)(\d+)(\s*(?:;.*)?)$`)
)

// minBacklog: a listen.backlog set below it is raised with the children,
// to fpmBacklog, php-fpm's own default.
const (
	minBacklog = 64
	fpmBacklog = 511
)

// A raise of pm.max_children stops at maxChildrenFactor times the pool's
// children, or minMoreChildren more for a tiny pool: a flood's refusals
// counted as children would fork thousands and run the host out of memory.
const (
	maxChildrenFactor = 4
	minMoreChildren   = 8
)

// childrenWanted is the new pm.max_children for a pool of n children:
// doubled, and by at least minMoreChildren (a pool small enough to run out
// under a handful of requests needs more than one or two more); and,
// unless the fix also raises the queue (where a burst waits instead of
// being refused), enough for every connection refused in the worst second
// besides the ones it served. capped says the cap cut the burst's share.
func childrenWanted(n, peakRefused int, queueRaised bool) (want int, capped bool) {
	want = max(2*n, n+minMoreChildren)
	if !queueRaised {
		want = max(want, n+peakRefused)
	}
	limit := max(maxChildrenFactor*n, n+minMoreChildren)
	if want > limit {
		return limit, true
	}
	return want, false
}

// childRoom is how many more children of master fit in three quarters of
// the host's available memory, at the mean resident size of those running
// now (each, in bytes); each is 0 when either is unknown.
func childRoom(o *checks.Outcome, master int32) (room int, each uint64) {
	if o == nil || o.Snapshot == nil || o.Snapshot.ResourcesErr != nil || o.Snapshot.Resources.MemAvailable == 0 {
		return 0, 0
	}
	var sum, k uint64
	for _, p := range o.Snapshot.Processes {
		if p.PPID == master && p.RSS > 0 {
			sum += p.RSS
			k++
		}
	}
	if k == 0 {
		return 0, 0
	}
	each = sum / k
	return int(min(o.Snapshot.Resources.MemAvailable/4*3/each, 1<<20)), each
}

// planMaxChildren raises pm.max_children of the php-fpm pool behind an
// overloaded backend, when php-fpm's own log says the pool reached it (or,
// for a static pool, which never says so, nginx was refused at its queue):
// the line in the pool's file, php-fpm -t on the master's config, then a
// graceful reload of that master (the one whose config includes the pool).
func planMaxChildren(e *Engine, o *checks.Outcome, c checks.Cause) []plan {
	pf := c.Facts.PHPFPM
	if c.ID != checks.CauseBackendOverloaded || pf == nil || pf.Pool.MaxChildrenLine == 0 || pf.Master <= 0 {
		return nil
	}
	// php-fpm's own word that the pool is full; a static pool never says
	// it, and there nginx refused at its full queue is the word.
	if pf.Pool.MaxChildrenReached == 0 && (pf.Pool.PM != "static" || pf.PeakRefused == 0) {
		return nil
	}
	lines, err := filesOf(o).readLines(pf.Pool.File)
	if err != nil {
		return nil
	}
	if pf.Pool.MaxChildrenLine > len(lines) {
		return nil
	}
	old, _ := cutNL(lines[pf.Pool.MaxChildrenLine-1])
	m := maxChildrenLine.FindStringSubmatch(old)
	if m == nil {
		return nil
	}
	n, err := strconv.Atoi(m[2])
	if err != nil || n != pf.Pool.MaxChildren {
		return nil // the file changed since it was read
	}
	bin := pf.Binary
	if bin == "" {
		return nil // no php-fpm to test the config with
	}
	var edits []Edit
	var title string
	// A queue of a few connections turns every burst into refusals while
	// children start (ondemand and dynamic pools fork them one by one, and
	// even idle children of a static pool are not woken fast enough for a
	// queue of 1): php-fpm's own default of 511 lets them wait instead.
	// A reload keeps the socket and its queue, so the fix also raises the
	// live socket's queue in place (listenqueue.go).
	var queue *listenQueue
	var backlogEdit *Edit
	b := pf.Pool.ListenBacklog
	if b > 0 && b < minBacklog && pf.Pool.ListenBacklogLine > 0 && pf.Pool.ListenBacklogLine <= len(lines) {
		bl, _ := cutNL(lines[pf.Pool.ListenBacklogLine-1])
		if bm := backlogLine.FindStringSubmatch(bl); bm != nil && bm[2] == strconv.Itoa(b) {
			ed := lineEdit(pf.Pool.File, lines, pf.Pool.ListenBacklogLine, bl, bm[1]+strconv.Itoa(fpmBacklog)+bm[3])
			backlogEdit = &ed
			// The kernel caps every listen(2) at net.core.somaxconn: the
			// live queue gets what it will take, shown as such.
			queue = &listenQueue{PID: int(pf.Master), Name: "php-fpm", Listen: pf.Pool.Listen, From: b, To: min(fpmBacklog, e.somaxconn())}
			if queue.To <= b {
				queue = nil // the kernel allows no longer queue now: the file waits for a restart
			}
		}
	}
	want, capped := childrenWanted(n, pf.PeakRefused, queue != nil)
	// The memory the host has now bounds the raise too: the children's
	// resident memory as the process table shows it, against MemAvailable.
	memNote := ""
	if room, each := childRoom(o, pf.Master); each > 0 && want > n+room {
		if room == 0 {
			return nil // no memory for one more child: more children are not the fix
		}
		want = n + room
		memNote = fmt.Sprintf("The raise stops at %d: the host has memory for %d more children of about %d MiB each (three quarters of its available memory). ", want, room, each>>20)
	}
	edits = append(edits, lineEdit(pf.Pool.File, lines, pf.Pool.MaxChildrenLine, old, m[1]+strconv.Itoa(want)+m[3]))
	title = fmt.Sprintf("Raise pm.max_children of php-fpm pool [%s] from %d to %d (%s:%d)", pf.Pool.Name, n, want, pf.Pool.File, pf.Pool.MaxChildrenLine)
	if backlogEdit != nil {
		edits = append(edits, *backlogEdit)
		title += fmt.Sprintf(" and listen.backlog from %d to %d", b, fpmBacklog)
	}
	warning := fmt.Sprintf("Each child holds its own memory (often 30-100 MB for PHP): %d children need that much free memory. "+
		"If the pages are slow rather than many, a faster page helps more than more children.", want)
	if capped {
		warning = fmt.Sprintf("nginx was refused %d times in the worst second, but the raise stops at %d children (%d times the pool's %d, at least %d more): "+
			"as many children as a flood would fork at once run the host out of memory. If the load is real, measure a child's memory and raise it by hand. ",
			pf.PeakRefused, want, maxChildrenFactor, n, minMoreChildren) + warning
	}
	warning = memNote + warning
	p := plan{
		Fix: Fix{
			ID:      fixID(c.ID, c.Target, "max-children"),
			Title:   fmt.Sprintf("%s, and reload php-fpm (master pid %d)", title, pf.Master),
			Undo:    "ngxdoctor undo restores the pool file byte for byte and reloads php-fpm again",
			Warning: warning,
		},
		edits:      edits,
		commands:   [][]string{{bin, "-t", "-y", pf.MasterConfig}},
		revertible: true,
	}
	if queue != nil {
		p.Title += fmt.Sprintf("; then raise the queue of the socket php-fpm keeps across the reload (%s) from %d to %d in place, with listen(2)", queue.Listen, queue.From, queue.To)
		if queue.To < fpmBacklog {
			p.Title += fmt.Sprintf(" (the kernel's net.core.somaxconn %d caps it)", queue.To)
		}
		p.Undo = fmt.Sprintf("ngxdoctor undo restores the pool file byte for byte, reloads php-fpm again and gives the socket its queue of %d back", queue.From)
		p.queue = queue
	}
	// The unit only when systemd says its main process is this master;
	// otherwise the signal goes to the master that read the pool.
	r := reloadRef{PID: int(pf.Master), Signal: "USR2", Name: "php-fpm"}
	if o != nil && o.Snapshot != nil && e.systemd() {
		if u, ok := o.Snapshot.Units[c.Target]; ok && u.MainPID == pf.Master && unitName.MatchString(u.Name) {
			r = reloadRef{Argv: []string{"systemctl", "reload", u.Name}}
		}
	}
	p.reloadBackend = &r
	return []plan{p}
}
