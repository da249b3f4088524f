package main

// The queries, as Sloop answers them (sloop-reference sections 10.3 and 10.4) and as the RocksDB
// side reproduces them (bench/harness/rocks.cc), each in one read-only transaction: EventHeatMap
// range-reads eventcount, ressum and watchactivity over the window's partitions and joins them;
// GetResPayload and GetEventData are prefix reads of watch per partition; name search is the
// timeline's name filter over every ressum row of the store.

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	badger "github.com/dgraph-io/badger/v2"
	"github.com/golang/protobuf/proto"
)

// join: the row key without its partition; Node Events carry the node's name as
// involvedObject.uid, so Nodes join by name.
func join(k parsedKey) string {
	if k.kind == "Node" {
		return k.kind + "/" + k.ns + "/" + k.name
	}
	return k.kind + "/" + k.ns + "/" + k.name + "/" + k.last
}

// rangeRead visits the rows of table in the partitions of [start, end] (ns) whose key passes
// pred, decoding each into a fresh message from newMsg, as Sloop's RangeRead: one iterator with
// the default options over the table, from the first partition's prefix.
func rangeRead(txn *badger.Txn, table string, start, end int64, pred func(parsedKey) bool,
	newMsg func() proto.Message, fn func(parsedKey, proto.Message)) {
	prefix := []byte("/" + table + "/")
	opt := badger.DefaultIteratorOptions
	opt.Prefix = prefix
	it := txn.NewIterator(opt)
	defer it.Close()
	endPart := partitionID(partitionOf(end))
	for it.Seek([]byte("/" + table + "/" + partitionID(partitionOf(start)) + "/")); it.ValidForPrefix(prefix); it.Next() {
		k, ok := parseKey(string(it.Item().Key()))
		if !ok || !pred(k) {
			continue
		}
		if k.partition > endPart {
			break
		}
		v, err := it.Item().ValueCopy(nil)
		if err != nil {
			continue
		}
		m := newMsg()
		if proto.Unmarshal(v, m) != nil {
			continue
		}
		fn(k, m)
	}
}

func all(parsedKey) bool { return true }

type timelineRow struct {
	start, end        int64
	deleted           bool
	heat              map[int64]map[string]int32
	changed, nochange []int64
	overlays          []string
}

// timeline: EventHeatMap over [start, end], all namespaces and kinds; returns the rows.
func (s *sloopStore) timeline(start, end int64) int {
	n := 0
	s.db.View(func(txn *badger.Txn) error {
		counts := map[string]*ResourceEventCounts{}
		rangeRead(txn, "eventcount", start, end, all, func() proto.Message { return &ResourceEventCounts{} },
			func(k parsedKey, m proto.Message) { counts[join(k)] = m.(*ResourceEventCounts) })
		sums := map[string]*ResourceSummary{}
		rangeRead(txn, "ressum", start, end, all, func() proto.Message { return &ResourceSummary{} },
			func(k parsedKey, m proto.Message) {
				r := m.(*ResourceSummary)
				create, last := tsNanos(r.CreateTime), tsNanos(r.LastSeen)
				if create > end || last < start {
					return
				}
				create, last = max64(create, start), min64(last, end)
				if !r.DeletedAtEnd && last+30*minute >= end {
					last = end
				}
				r.CreateTime, r.LastSeen = tsProto(create), tsProto(last)
				j := join(k)
				if old, ok := sums[j]; !ok || last > tsNanos(old.LastSeen) {
					sums[j] = r
				}
			})
		activity := map[string]*WatchActivity{}
		rangeRead(txn, "watchactivity", start, end, all, func() proto.Message { return &WatchActivity{} },
			func(k parsedKey, m proto.Message) {
				a := m.(*WatchActivity)
				outside := func(ts []int64) []int64 {
					kept := ts[:0]
					for _, t := range ts {
						if t*sec >= start && t*sec <= end {
							kept = append(kept, t)
						}
					}
					return kept
				}
				a.ChangedAt, a.NoChangeAt = outside(a.ChangedAt), outside(a.NoChangeAt)
				if len(a.ChangedAt) == 0 && len(a.NoChangeAt) == 0 {
					return
				}
				j := join(k)
				dst := activity[j]
				if dst == nil {
					dst = &WatchActivity{}
					activity[j] = dst
				}
				dst.ChangedAt = append(dst.ChangedAt, a.ChangedAt...)
				dst.NoChangeAt = append(dst.NoChangeAt, a.NoChangeAt...)
			})
		rows := make(map[string]*timelineRow, len(sums))
		for j, r := range sums {
			rows[j] = &timelineRow{start: tsNanos(r.CreateTime), end: tsNanos(r.LastSeen), deleted: r.DeletedAtEnd}
		}
		for j, c := range counts {
			row := rows[j]
			if row == nil {
				continue
			}
			if row.heat == nil {
				row.heat = map[int64]map[string]int32{}
			}
			for m, ec := range c.MapMinToEvents {
				if ec == nil {
					continue
				}
				h := row.heat[m]
				if h == nil {
					h = map[string]int32{}
					row.heat[m] = h
				}
				for reason, c := range ec.MapReasonToCount {
					h[reason] += c
				}
			}
		}
		for j, a := range activity {
			if row := rows[j]; row != nil {
				row.changed, row.nochange = a.ChangedAt, a.NoChangeAt
			}
		}
		for _, row := range rows {
			minutes := make([]int64, 0, len(row.heat))
			for m := range row.heat {
				minutes = append(minutes, m)
			}
			sort.Slice(minutes, func(a, b int) bool { return minutes[a] < minutes[b] })
			for _, m := range minutes {
				reasons := make([]string, 0, len(row.heat[m]))
				for r := range row.heat[m] {
					reasons = append(reasons, r)
				}
				sort.Strings(reasons)
				var text strings.Builder
				for i, r := range reasons {
					if i > 0 {
						text.WriteByte(' ')
					}
					text.WriteString(r + ":" + strconv.Itoa(int(row.heat[m][r])))
				}
				row.overlays = append(row.overlays, text.String())
			}
		}
		n = len(rows)
		return nil
	})
	return n
}

// history: GetResPayload, the object's watch rows in [start, end] plus the last one before,
// sorted by time, consecutive identical payloads counted once.
func (s *sloopStore) history(kind, ns, name string, start, end int64) int {
	type version struct {
		ts      int64
		payload string
	}
	var out []version
	s.db.View(func(txn *badger.Txn) error {
		suffix := kind + "/" + ns + "/" + name + "/"
		for p := partitionOf(start); p <= partitionOf(end); p += 3600 {
			prefix := []byte("/watch/" + partitionID(p) + "/" + suffix)
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
			for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
				v, err := it.Item().ValueCopy(nil)
				w := &KubeWatchResult{}
				if err != nil || proto.Unmarshal(v, w) != nil {
					continue
				}
				if ts := tsNanos(w.Timestamp); ts >= start && ts <= end {
					out = append(out, version{ts, w.Payload})
				}
			}
			it.Close()
		}
		// The last row before the range, walking partitions back to the oldest (GetPreviousKey).
		minPart, _ := minMaxPartitions(txn, tables[:1])
		opt := badger.DefaultIteratorOptions
		opt.Reverse = true
		it := txn.NewIterator(opt)
		defer it.Close()
		for p := partitionOf(start); minPart != 0 && p >= minPart; p -= 3600 {
			prefix := "/watch/" + partitionID(p) + "/" + suffix
			seek := prefix + past
			if p == partitionOf(start) {
				seek = prefix + strconv.FormatInt(start, 10)
			}
			it.Seek([]byte(seek))
			if it.ValidForPrefix([]byte(prefix)) && string(it.Item().Key()) == seek {
				it.Next()
			}
			if it.ValidForPrefix([]byte(prefix)) {
				v, err := it.Item().ValueCopy(nil)
				w := &KubeWatchResult{}
				if err == nil && proto.Unmarshal(v, w) == nil {
					out = append(out, version{tsNanos(w.Timestamp), w.Payload})
				}
				break
			}
		}
		return nil
	})
	sort.SliceStable(out, func(a, b int) bool { return out[a].ts < out[b].ts })
	kept := 0
	for i := range out {
		if i == 0 || out[i].payload != out[i-1].payload {
			kept++
		}
	}
	return kept
}

// events: GetEventData, Event rows named "<name>." in the window's partitions whose
// [firstTimestamp, lastTimestamp] overlaps it and whose involvedObject.kind matches.
func (s *sloopStore) events(kind, ns, name string, start, end int64) int {
	n := 0
	s.db.View(func(txn *badger.Txn) error {
		for p := partitionOf(start); p <= partitionOf(end); p += 3600 {
			prefix := []byte("/watch/" + partitionID(p) + "/Event/" + ns + "/" + name + ".")
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
			for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
				v, err := it.Item().ValueCopy(nil)
				w := &KubeWatchResult{}
				if err != nil || proto.Unmarshal(v, w) != nil {
					continue
				}
				var e struct {
					FirstTimestamp string `json:"firstTimestamp"`
					LastTimestamp  string `json:"lastTimestamp"`
					InvolvedObject struct {
						Kind string `json:"kind"`
					} `json:"involvedObject"`
				}
				if json.Unmarshal([]byte(w.Payload), &e) != nil || e.InvolvedObject.Kind != kind {
					continue
				}
				if parseTime(e.LastTimestamp) < start || parseTime(e.FirstTimestamp) > end {
					continue
				}
				n++
			}
			it.Close()
		}
		return nil
	})
	return n
}

// search: resources whose name contains needle, over every ressum row of the store (the
// timeline's name filter: Sloop has no index by name).
func (s *sloopStore) search(needle string) int {
	hits := map[string]struct{}{}
	s.db.View(func(txn *badger.Txn) error {
		lo, hi := minMaxPartitions(txn, tables)
		rangeRead(txn, "ressum", lo*sec, hi*sec,
			func(k parsedKey) bool { return strings.Contains(k.name, needle) },
			func() proto.Message { return &ResourceSummary{} },
			func(k parsedKey, _ proto.Message) { hits[join(k)] = struct{}{} })
		return nil
	})
	return len(hits)
}
