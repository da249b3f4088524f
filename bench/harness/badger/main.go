// sloop-bench-badger: the Badger side of sloop-bench (docs/benchmarks.md). It replays a capture
// into Badger v2.2007.2, the engine and version Sloop uses, with Sloop's options, key layout,
// protobuf values and per-record work (sloop.go), Sloop's informer resync emulated as on the
// RocksDB side, then times the queries of the plan the harness picked (queries.go). sloop-bench
// runs it as a child process and measures its peak RSS; it prints its figures on standard output
// as "key value" lines (the harness's Figures format), or one line "error MESSAGE" and exits 1.
//
//	sloop-bench-badger --capture FILE --dir DIR --plan FILE [--runs 21,11,41,11,41]
//	  [--resync DURATION] [--rules JSON] [--sync-writes]
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	badger "github.com/dgraph-io/badger/v2"
)

type figures struct {
	keys   []string
	values map[string]float64
}

func (f *figures) set(k string, v float64) {
	if f.values == nil {
		f.values = map[string]float64{}
	}
	if _, ok := f.values[k]; !ok {
		f.keys = append(f.keys, k)
	}
	f.values[k] = v
}

type pod struct{ ns, name, uid string }

type plan struct {
	first, last, listEnd int64
	pods                 []pod
	needles              []string
}

// readPlan reads the harness's SerializePlan text (bench/harness/replay.cc).
func readPlan(path string) (plan, error) {
	var p plan
	f, err := os.Open(path)
	if err != nil {
		return p, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		w := strings.Split(sc.Text(), " ")
		switch {
		case w[0] == "range" && len(w) == 4:
			var v [3]int64
			for i := range v {
				if v[i], err = strconv.ParseInt(w[i+1], 10, 64); err != nil {
					return p, fmt.Errorf("%s: %v", path, err)
				}
			}
			p.first, p.last, p.listEnd = v[0], v[1], v[2]
		case w[0] == "pod" && len(w) == 4:
			p.pods = append(p.pods, pod{w[1], w[2], w[3]})
		case w[0] == "needle" && len(w) == 2:
			p.needles = append(p.needles, w[1])
		}
	}
	return p, sc.Err()
}

func statusKB(field string) float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field+":") {
			v, _ := strconv.ParseFloat(strings.Fields(line[len(field)+1:])[0], 64)
			return v
		}
	}
	return 0
}

func dirBytes(dir string) uint64 {
	var n uint64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += uint64(info.Size())
			}
		}
		return nil
	})
	return n
}

// timeRuns runs fn n times and records the median and p99 in milliseconds (replay.h's TimeRuns
// and SetTimes).
func timeRuns(f *figures, name string, n int, fn func(i int)) {
	ms := make([]float64, 0, n)
	for i := 0; i < n; i++ {
		a := time.Now()
		fn(i)
		ms = append(ms, float64(time.Since(a).Nanoseconds())/1e6)
	}
	setTimes(f, name, ms)
}

// busyRuns times fn again and again, 20 ms apart, for the given seconds and at least 5 times
// (sloop-bench's TimeBusyRuns).
func busyRuns(seconds float64, fn func()) []float64 {
	var ms []float64
	until := time.Now().Add(time.Duration(seconds * float64(time.Second)))
	for i := 0; i < 5 || time.Now().Before(until); i++ {
		time.Sleep(20 * time.Millisecond)
		a := time.Now()
		fn()
		ms = append(ms, float64(time.Since(a).Nanoseconds())/1e6)
	}
	return ms
}

// pacer keeps a feeder at rate items a second from its first wait (sloop-bench's Pacer).
type pacer struct {
	rate  float64
	n     int64
	start time.Time
}

func (p *pacer) wait() {
	if p.n == 0 {
		p.start = time.Now()
	}
	p.n++
	if p.rate <= 0 {
		return
	}
	time.Sleep(time.Until(p.start.Add(time.Duration(float64(p.n) * 1e9 / p.rate))))
}

// setTimes stores the median and p99 of ms as NAME_median_ms and NAME_p99_ms.
func setTimes(f *figures, name string, ms []float64) {
	sort.Float64s(ms)
	median, p99 := 0.0, 0.0
	if len(ms) > 0 {
		median = ms[len(ms)/2]
		i := len(ms) * 99 / 100
		if i > len(ms)-1 {
			i = len(ms) - 1
		}
		p99 = ms[i]
	}
	f.set(name+"_median_ms", median)
	f.set(name+"_p99_ms", p99)
}

// openSloopBadger opens Badger as Sloop's OpenStore does with its default flags: the LSM-only
// preset, L0 tables kept in memory, value-log files of at most 200,000 entries, a truncated
// corrupt value-log tail, no logger, then Flatten(5) as at every Sloop start.
func openSloopBadger(dir string, syncWrites bool) (*badger.DB, error) {
	opts := badger.LSMOnlyOptions(dir)
	opts.KeepL0InMemory = true
	opts = opts.WithValueLogMaxEntries(200000)
	opts = opts.WithSyncWrites(syncWrites)
	opts = opts.WithTruncate(true)
	opts = opts.WithLogger(nil)
	db, err := badger.Open(opts)
	if err != nil {
		return nil, err
	}
	if err := db.Flatten(5); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// valueLogGC: Sloop's store manager loop body, RunValueLogGC(0.99) until it has nothing to
// rewrite.
func valueLogGC(db *badger.DB) {
	for db.RunValueLogGC(0.99) == nil {
	}
}

func run(args []string) (*figures, error) {
	fl := flag.NewFlagSet("sloop-bench-badger", flag.ContinueOnError)
	capture := fl.String("capture", "", "capture file (docs/format/capture.md)")
	dir := fl.String("dir", "", "a fresh directory for the database")
	planFile := fl.String("plan", "", "the query plan sloop-bench wrote")
	runsFlag := fl.String("runs", "21,11,41,11,41", "runs of timeline 1h, 24h, history, search, events")
	resync := fl.Duration("resync", 30*time.Minute, "informer resync period in capture time (0: off)")
	rules := fl.String("rules", `{"_all":[{"==":[{"var":"metadata.namespace"},"sloop-bench-excluded"]}]}`,
		"exclusion rules, as Sloop's exclusionRules")
	syncWrites := fl.Bool("sync-writes", false, "Badger SyncWrites (Sloop's default: true)")
	busyCapture := fl.String("busy-capture", "", "the busy phase's capture (none: no busy phase)")
	busyRate := fl.Float64("busy-rate", 2000, "records a second ingested during the busy phase")
	busySeconds := fl.Float64("busy-seconds", 15, "how long the busy phase times the 1 h timeline")
	gcEvery := fl.Duration("vlog-gc-every", time.Minute, "value-log GC period in wall time (Sloop: 1m; 0: off)")
	if err := fl.Parse(args); err != nil {
		return nil, err
	}
	if *capture == "" || *dir == "" || *planFile == "" {
		return nil, errors.New("--capture, --dir and --plan are required")
	}
	var runs [5]int
	parts := strings.Split(*runsFlag, ",")
	if len(parts) != 5 {
		return nil, fmt.Errorf("--runs %q: five counts expected", *runsFlag)
	}
	for i, s := range parts {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--runs %q: %q is not a positive count", *runsFlag, s)
		}
		runs[i] = n
	}
	q, err := readPlan(*planFile)
	if err != nil {
		return nil, err
	}
	excl, err := parseExclusionRules(*rules)
	if err != nil {
		return nil, err
	}
	db, err := openSloopBadger(*dir, *syncWrites)
	if err != nil {
		return nil, fmt.Errorf("opening Badger in %s: %v", *dir, err)
	}
	defer db.Close()
	store := &sloopStore{db: db}

	// Sloop's store manager runs the value-log GC every minute while it ingests.
	stopGC := make(chan struct{})
	var gcDone sync.WaitGroup
	if *gcEvery > 0 {
		gcDone.Add(1)
		go func() {
			defer gcDone.Done()
			t := time.NewTicker(*gcEvery)
			defer t.Stop()
			for {
				select {
				case <-stopGC:
					return
				case <-t.C:
					valueLogGC(db)
				}
			}
		}()
	}

	lists := listReconciler{known: map[string]uint64{}}
	informers := informerCache{objects: map[string]cachedObject{}}
	period := int64(*resync)
	started := false
	var nextResync int64
	var badObjects, excluded, resyncs, resyncRecords uint64
	listDone := false
	var listDoneAt time.Time
	var cs captureStats
	var f objectFields
	start := time.Now()
	// The busy phase turns the resync off (see below).
	resyncing := true
	onRecord := func(r *record) {
		if !started {
			started = true
			nextResync = r.ts + period
		}
		for ; resyncing && period > 0 && r.ts >= nextResync; nextResync += period {
			resyncs++
			informers.resync(nextResync, func(rr *record) {
				if !parseObject(rr, &f) {
					badObjects++
					return
				}
				store.ingest(rr, "MODIFIED", &f)
				resyncRecords++
			})
		}
		if !parseObject(r, &f) {
			badObjects++
			return
		}
		if excl.excluded(r.kind, r.object) {
			excluded++
			if period > 0 {
				informers.forget(r, &f)
			}
			return
		}
		if !listDone && r.ts > q.listEnd {
			listDone = true
			listDoneAt = time.Now()
		}
		typ := lists.apply(r, &f)
		if typ == "" {
			return
		}
		store.ingest(r, typ, &f)
		if period > 0 {
			informers.apply(r, typ, &f)
		}
	}
	err = readCapture(*capture, onRecord, &cs)
	if err != nil {
		return nil, err
	}
	playedAt := time.Now()
	// Settle: Badger has no call that waits for its compactions. Run the value-log GC until it
	// has nothing to rewrite, then wait until the directory has not changed for a second; ingest
	// ends at its last change.
	close(stopGC)
	gcDone.Wait()
	valueLogGC(db)
	settled := time.Now()
	last := dirBytes(*dir)
	for quiet := time.Now(); time.Since(quiet) < time.Second; {
		time.Sleep(100 * time.Millisecond)
		if n := dirBytes(*dir); n != last {
			last, quiet, settled = n, time.Now(), time.Now()
		}
	}
	ingestS := settled.Sub(start).Seconds()
	if !listDone {
		listDoneAt = playedAt
	}
	fig := &figures{}
	fig.set("records", float64(cs.records))
	fig.set("json_bytes", float64(cs.objectBytes))
	fig.set("capture_file_bytes", float64(cs.fileBytes))
	fig.set("stored_records", float64(store.watchRows))
	fig.set("resync_interval_s", float64(period)/float64(sec))
	fig.set("resyncs", float64(resyncs))
	fig.set("resync_records", float64(resyncRecords))
	fig.set("dropped_node_heartbeats", float64(store.nodeSkipped))
	fig.set("append_failures", float64(store.failures+badObjects))
	fig.set("excluded", float64(excluded))
	fig.set("ingest_s", ingestS)
	fig.set("initial_list_s", listDoneAt.Sub(start).Seconds())
	fig.set("ingest_before_seal_s", playedAt.Sub(start).Seconds())
	fig.set("disk_bytes", float64(dirBytes(*dir)))
	fig.set("rss_after_ingest_mb", statusKB("VmRSS")/1024)
	fig.set("rss_anon_after_ingest_mb", statusKB("RssAnon")/1024)
	fig.set("rss_file_after_ingest_mb", statusKB("RssFile")/1024)

	end := q.last + 1
	rows := 0
	timeRuns(fig, "timeline_1h", runs[0], func(int) { rows = store.timeline(end-hour, end) })
	fig.set("timeline_1h_rows", float64(rows))
	timeRuns(fig, "timeline_24h", runs[1], func(int) { rows = store.timeline(end-day, end) })
	fig.set("timeline_24h_rows", float64(rows))
	if len(q.pods) > 0 {
		n := 0
		timeRuns(fig, "history", runs[2], func(i int) {
			p := q.pods[i%len(q.pods)]
			n += store.history("Pod", p.ns, p.name, q.first, end)
		})
		fig.set("history_records", float64(n)/float64(runs[2]))
		n = 0
		timeRuns(fig, "search", runs[3], func(i int) { n += store.search(q.needles[i%len(q.needles)]) })
		fig.set("search_hits", float64(n)/float64(runs[3]))
		n = 0
		timeRuns(fig, "events", runs[4], func(i int) {
			p := q.pods[i%len(q.pods)]
			n += store.events("Pod", p.ns, p.name, q.first, end)
		})
		fig.set("events_records", float64(n)/float64(runs[4]))
	}
	fig.set("peak_rss_before_busy_mb", statusKB("VmHWM")/1024)
	if *busyCapture != "" {
		// The same 1 h timeline while newer records arrive through the same per-record work
		// (reconciliation, Sloop's tables), as the informers would deliver them. Not the resync:
		// it follows capture time, and at the phase's rate capture time runs hundreds of times
		// faster than the clock (15 s pass an hour of it), so it would fire at every resync point
		// the jump to the phase's records passes, where Sloop's 30-minute wall-clock resync
		// falls in a 15-second window once in 120.
		resyncing = false
		var stop atomic.Bool
		var fed uint64
		var feedErr error
		var feedStats captureStats
		done := make(chan struct{})
		go func() {
			defer close(done)
			p := pacer{rate: *busyRate}
			feedErr = readCapture(*busyCapture, func(r *record) {
				if stop.Load() {
					return
				}
				p.wait()
				fed++
				onRecord(r)
			}, &feedStats)
		}()
		ms := busyRuns(*busySeconds, func() { rows = store.timeline(end-hour, end) })
		setTimes(fig, "timeline_1h_busy", ms)
		stop.Store(true)
		<-done
		if feedErr != nil {
			return nil, fmt.Errorf("busy phase: %v", feedErr)
		}
		fig.set("timeline_1h_busy_runs", float64(len(ms)))
		fig.set("timeline_1h_busy_rows", float64(rows))
		fig.set("busy_records", float64(fed))
	}
	return fig, nil
}

func main() {
	fig, err := run(os.Args[1:])
	if err != nil {
		fmt.Printf("error %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		os.Exit(1)
	}
	w := bufio.NewWriter(os.Stdout)
	for _, k := range fig.keys {
		fmt.Fprintf(w, "%s %s\n", k, strconv.FormatFloat(fig.values[k], 'g', 17, 64))
	}
	w.Flush()
}
