package main

// Sloop's four tables on Badger and its per-record work (sloop-reference sections 6 and 7), in
// the same steps, order and arithmetic as the RocksDB side (bench/harness/rocks.cc), so that both
// baselines store the same rows: eventcount (Events) or watchactivity (others), then watch (Node
// heartbeats de-duplicated), then ressum (others), each step one read-write transaction as in
// Sloop. Objects' fields are pulled with encoding/json as Sloop's kubeextractor does, values are
// Sloop's protobuf messages (schema.go), and lookups use Badger iterators with the options Sloop
// gives them.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cespare/xxhash"
	badger "github.com/dgraph-io/badger/v2"
	"github.com/diegoholiveira/jsonlogic/v3"
	"github.com/golang/protobuf/proto"
)

const (
	sec    = int64(time.Second)
	minute = int64(time.Minute)
	hour   = int64(time.Hour)
	day    = 24 * hour
)

// ---- the object's fields (kubeextractor's structs in Sloop)

type ownerRef struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	UID  string `json:"uid"`
}

type objectMeta struct {
	Name              string     `json:"name"`
	Namespace         string     `json:"namespace"`
	UID               string     `json:"uid"`
	ResourceVersion   string     `json:"resourceVersion"`
	CreationTimestamp string     `json:"creationTimestamp"`
	OwnerReferences   []ownerRef `json:"ownerReferences"`
}

type involved struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	UID       string `json:"uid"`
}

type eventFields struct {
	InvolvedObject *involved `json:"involvedObject"`
	Regarding      *involved `json:"regarding"`
	Reason         string    `json:"reason"`
	Type           string    `json:"type"`
	FirstTimestamp string    `json:"firstTimestamp"`
	LastTimestamp  string    `json:"lastTimestamp"`
	Count          int64     `json:"count"`
}

type objectFields struct {
	meta    objectMeta
	isEvent bool
	inv     involved
	event   eventFields
}

// parseObject pulls what the steps need. False when the object is not JSON or lacks
// metadata.name (as the C++ sides' ObjectParser).
func parseObject(r *record, f *objectFields) bool {
	var o struct {
		Metadata *objectMeta `json:"metadata"`
	}
	if json.Unmarshal(r.object, &o) != nil || o.Metadata == nil || o.Metadata.Name == "" {
		return false
	}
	*f = objectFields{meta: *o.Metadata}
	if r.kind == "Event" && (r.group == "" || r.group == "events.k8s.io") {
		f.isEvent = true
		if json.Unmarshal(r.object, &f.event) != nil {
			return false
		}
		if f.event.InvolvedObject != nil {
			f.inv = *f.event.InvolvedObject
		} else if f.event.Regarding != nil {
			f.inv = *f.event.Regarding
		}
	}
	return true
}

// parseTime: RFC 3339 to Unix nanoseconds, 0 when missing or malformed.
func parseTime(s string) int64 {
	if s == "" {
		return 0
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0
	}
	return t.UnixNano()
}

// ---- the capture's LIST semantics and the Node fingerprint (bench/harness/replay.cc)

type listReconciler struct {
	known map[string]uint64
}

// apply returns "ADDED", "MODIFIED", "DELETED" or "" (an unchanged LIST item: dropped).
func (l *listReconciler) apply(r *record, f *objectFields) string {
	key := r.kind + "/" + f.meta.Namespace + "/" + f.meta.Name
	if r.typ == "DELETED" {
		delete(l.known, key)
		return "DELETED"
	}
	h := xxhash.Sum64(r.object)
	old, found := l.known[key]
	l.known[key] = h
	if r.typ == "LIST" {
		if !found {
			return "ADDED"
		}
		if old == h {
			return ""
		}
		return "MODIFIED"
	}
	return r.typ
}

var (
	maskRV        = []byte(`"resourceVersion":"`)
	maskHeartbeat = []byte(`"lastHeartbeatTime":"`)
)

// nodeFingerprint hashes a Node's JSON without the first resourceVersion's value (metadata's)
// and without every lastHeartbeatTime's value.
func nodeFingerprint(js []byte) uint64 {
	d := xxhash.New()
	pos := 0
	rvDone := false
	for pos < len(js) {
		best, length, isRV := -1, 0, false
		if !rvDone {
			if p := bytes.Index(js[pos:], maskRV); p >= 0 {
				best, length, isRV = pos+p, len(maskRV), true
			}
		}
		if p := bytes.Index(js[pos:], maskHeartbeat); p >= 0 && (best < 0 || pos+p < best) {
			best, length, isRV = pos+p, len(maskHeartbeat), false
		}
		if best < 0 {
			break
		}
		if isRV {
			rvDone = true
		}
		value := best + length
		d.Write(js[pos:value])
		end := bytes.IndexByte(js[value:], '"')
		if end < 0 {
			break
		}
		pos = value + end
	}
	if pos < len(js) {
		d.Write(js[pos:])
	}
	return d.Sum64()
}

// ---- exclusion rules (sloop-reference section 12)

type exclusionRules struct {
	byKind map[string][]string // kind or "_all" -> rules re-serialised, as Sloop does
}

func parseExclusionRules(config string) (*exclusionRules, error) {
	var m map[string][]json.RawMessage
	if err := json.Unmarshal([]byte(config), &m); err != nil {
		return nil, fmt.Errorf("exclusion rules: %v", err)
	}
	e := &exclusionRules{byKind: map[string][]string{}}
	for k, rules := range m {
		for _, r := range rules {
			e.byKind[k] = append(e.byKind[k], string(r))
		}
	}
	return e, nil
}

// excluded: the kind's rules, then "_all"'s; the first whose result's text contains "true"
// excludes the object. A rule that fails to evaluate keeps it. Each rule is parsed again for
// every object, with the object, as Sloop does it.
func (e *exclusionRules) excluded(kind string, object []byte) bool {
	for _, k := range [2]string{kind, "_all"} {
		for _, rule := range e.byKind[k] {
			var out bytes.Buffer
			if jsonlogic.Apply(strings.NewReader(rule), bytes.NewReader(object), &out) != nil {
				continue
			}
			if strings.Contains(out.String(), "true") {
				return true
			}
		}
	}
	return false
}

// ---- keys: /table/partition/kind/namespace/name/last (section 7.2)

func partitionOf(ns int64) int64 {
	s := ns / sec
	return s - s%3600
}

func partitionID(p int64) string { return fmt.Sprintf("%012d", p) }

func key(table string, p int64, kind, ns, name, last string) string {
	var b strings.Builder
	b.Grow(32 + len(kind) + len(ns) + len(name) + len(last))
	b.WriteByte('/')
	b.WriteString(table)
	b.WriteByte('/')
	b.WriteString(partitionID(p))
	b.WriteByte('/')
	b.WriteString(kind)
	b.WriteByte('/')
	b.WriteString(ns)
	b.WriteByte('/')
	b.WriteString(name)
	b.WriteByte('/')
	b.WriteString(last)
	return b.String()
}

type parsedKey struct {
	table, partition, kind, ns, name, last string
}

// parseKey: exactly 7 slash-separated fields, the first empty (Sloop validates every key it
// sets or gets this way).
func parseKey(k string) (parsedKey, bool) {
	f := strings.Split(k, "/")
	if len(f) != 7 || f[0] != "" {
		return parsedKey{}, false
	}
	return parsedKey{f[1], f[2], f[3], f[4], f[5], f[6]}, true
}

// Sloop's reverse seeks append rune 255 to a prefix.
var past = string(rune(255))

// ---- the store

type sloopStore struct {
	db                               *badger.DB
	watchRows, nodeSkipped, failures uint64
}

var errNotFound = badger.ErrKeyNotFound

func getProto(txn *badger.Txn, k string, m proto.Message) error {
	if _, ok := parseKey(k); !ok {
		return fmt.Errorf("invalid key %q", k)
	}
	item, err := txn.Get([]byte(k))
	if err != nil {
		return err
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return err
	}
	return proto.Unmarshal(v, m)
}

func setProto(txn *badger.Txn, k string, m proto.Message) error {
	if _, ok := parseKey(k); !ok {
		return fmt.Errorf("invalid key %q", k)
	}
	v, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	return txn.Set([]byte(k), v)
}

// previousWatch: the newest watch row under prefix (kind/ns/name/ of one partition), as Sloop's
// getLastMatchingKeyInPartition finds it (a reverse iterator with the default options).
func previousWatch(txn *badger.Txn, prefix string) (*KubeWatchResult, bool) {
	opt := badger.DefaultIteratorOptions
	opt.Reverse = true
	it := txn.NewIterator(opt)
	defer it.Close()
	it.Seek([]byte(prefix + past))
	if !it.ValidForPrefix([]byte(prefix)) {
		return nil, false
	}
	v, err := it.Item().ValueCopy(nil)
	if err != nil {
		return nil, false
	}
	w := &KubeWatchResult{}
	if proto.Unmarshal(v, w) != nil {
		return nil, false
	}
	return w, true
}

var tables = []string{"watch", "ressum", "eventcount", "watchactivity"}

// minMaxPartitions over the tables given (Unix seconds; 0, 0 when empty): a forward and a
// reverse seek in each, as Sloop's GetMinKey / GetMaxKey.
func minMaxPartitions(txn *badger.Txn, which []string) (int64, int64) {
	var lo, hi int64
	for _, table := range which {
		prefix := []byte("/" + table + "/")
		opt := badger.DefaultIteratorOptions
		opt.Prefix = prefix
		it := txn.NewIterator(opt)
		it.Seek(prefix)
		if it.ValidForPrefix(prefix) {
			if k, ok := parseKey(string(it.Item().Key())); ok {
				p, _ := strconv.ParseInt(k.partition, 10, 64)
				if lo == 0 || p < lo {
					lo = p
				}
			}
		}
		it.Close()
		opt.Reverse = true
		it = txn.NewIterator(opt)
		it.Seek(append(prefix, past...))
		if it.ValidForPrefix(prefix) {
			if k, ok := parseKey(string(it.Item().Key())); ok {
				p, _ := strconv.ParseInt(k.partition, 10, 64)
				if p > hi {
					hi = p
				}
			}
		}
		it.Close()
	}
	return lo, hi
}

// ingest runs Sloop's steps for one record, typ being "ADDED", "MODIFIED" or "DELETED".
func (s *sloopStore) ingest(r *record, typ string, f *objectFields) {
	part := partitionOf(r.ts)
	wtype := WatchUpdate
	if typ == "ADDED" {
		wtype = WatchAdd
	} else if typ == "DELETED" {
		wtype = WatchDelete
	}
	step := func(fn func(txn *badger.Txn) error) {
		if err := s.db.Update(fn); err != nil {
			s.failures++
		}
	}
	if f.isEvent {
		step(func(txn *badger.Txn) error { return s.eventCountStep(txn, r, f) })
	} else {
		step(func(txn *badger.Txn) error { return activityStep(txn, r, f, part) })
	}
	step(func(txn *badger.Txn) error { return s.watchStep(txn, r, f, part, wtype) })
	if !f.isEvent {
		step(func(txn *badger.Txn) error { return s.resSumStep(txn, r, f, part, wtype) })
	}
}

type eventFacts struct{ first, last, count int64 }

func (s *sloopStore) eventCountStep(txn *badger.Txn, r *record, f *objectFields) error {
	now := eventFacts{parseTime(f.event.FirstTimestamp), parseTime(f.event.LastTimestamp), f.event.Count}
	reason := f.event.Reason + ":" + f.event.Type
	// 1-2: the previous copy of this Event, in this hour's partition only.
	part := partitionOf(r.ts)
	first, last, count := now.first, now.last, now.count
	if prev, ok := previousWatch(txn, key("watch", part, r.kind, f.meta.Namespace, f.meta.Name, "")); ok {
		var e eventFields
		if json.Unmarshal([]byte(prev.Payload), &e) == nil {
			old := eventFacts{parseTime(e.FirstTimestamp), parseTime(e.LastTimestamp), e.Count}
			// 3: how many occurrences are new.
			switch {
			case old.last < now.first: // the whole new range
			case old.last >= now.last:
				return nil
			case old.first == now.first:
				first = old.last
				count = max64(0, now.count-old.count)
			default:
				overlap := 1.0
				if old.last > old.first {
					overlap = float64(old.last-max64(old.first, now.first)) / float64(old.last-old.first)
				}
				count = max64(0, now.count-int64(float64(old.count)*overlap))
			}
		}
	}
	if count <= 0 {
		return nil
	}
	// 4: clip to the partitions that exist.
	minPart, maxPart := minMaxPartitions(txn, tables)
	if minPart == 0 {
		return nil
	}
	lo := (minPart + 3600) * sec
	if minPart == maxPart {
		lo = minPart * sec
	}
	hi := (maxPart + 3600) * sec
	cFirst, cLast := max64(first, lo), min64(last, hi)
	if cLast < cFirst {
		return nil
	}
	if last > first {
		count = int64(float64(count) * float64(cLast-cFirst) / float64(last-first))
	}
	if count <= 0 {
		return nil
	}
	// 5: spread over minutes.
	mFirst, mLast := (cFirst+30*sec)/minute, (cLast+30*sec)/minute
	n := max64(1, mLast-mFirst)
	// 7: read-modify-write one row per minute.
	iuid := f.inv.UID
	if f.inv.Kind == "Node" {
		iuid = f.inv.Name
	}
	for i := int64(0); i < n; i++ {
		share := count / n
		if i < count%n {
			share++
		}
		if share == 0 {
			continue
		}
		m := mFirst + i
		k := key("eventcount", partitionOf(m*minute), f.inv.Kind, f.inv.Namespace, f.inv.Name, iuid)
		c := &ResourceEventCounts{}
		if err := getProto(txn, k, c); err != nil && !errors.Is(err, errNotFound) {
			return err
		}
		if c.MapMinToEvents == nil {
			c.MapMinToEvents = map[int64]*EventCounts{}
		}
		ec := c.MapMinToEvents[m*60]
		if ec == nil {
			ec = &EventCounts{MapReasonToCount: map[string]int32{}}
			c.MapMinToEvents[m*60] = ec
		}
		if ec.MapReasonToCount == nil {
			ec.MapReasonToCount = map[string]int32{}
		}
		ec.MapReasonToCount[reason] += int32(share)
		if err := setProto(txn, k, c); err != nil {
			return err
		}
	}
	return nil
}

func activityStep(txn *badger.Txn, r *record, f *objectFields, part int64) error {
	changed := false
	if prev, ok := previousWatch(txn, key("watch", part, r.kind, f.meta.Namespace, f.meta.Name, "")); ok {
		var o struct {
			Metadata *struct {
				ResourceVersion *string `json:"resourceVersion"`
			} `json:"metadata"`
		}
		if json.Unmarshal([]byte(prev.Payload), &o) == nil && o.Metadata != nil && o.Metadata.ResourceVersion != nil {
			changed = *o.Metadata.ResourceVersion != f.meta.ResourceVersion
		}
	}
	k := key("watchactivity", part, r.kind, f.meta.Namespace, f.meta.Name, f.meta.UID)
	a := &WatchActivity{}
	if err := getProto(txn, k, a); err != nil && !errors.Is(err, errNotFound) {
		return err
	}
	if changed {
		a.ChangedAt = append(a.ChangedAt, r.ts/sec)
	} else {
		a.NoChangeAt = append(a.NoChangeAt, r.ts/sec)
	}
	return setProto(txn, k, a)
}

func (s *sloopStore) watchStep(txn *badger.Txn, r *record, f *objectFields, part int64, wtype WatchType) error {
	if r.kind == "Node" {
		prev, ok := previousWatch(txn, key("watch", part, r.kind, f.meta.Namespace, f.meta.Name, ""))
		if ok && nodeFingerprint([]byte(prev.Payload)) == nodeFingerprint(r.object) {
			s.nodeSkipped++
			return nil
		}
	}
	w := &KubeWatchResult{Timestamp: tsProto(r.ts), Kind: r.kind, WatchType: wtype, Payload: string(r.object)}
	if err := setProto(txn, key("watch", part, r.kind, f.meta.Namespace, f.meta.Name, strconv.FormatInt(r.ts, 10)), w); err != nil {
		return err
	}
	s.watchRows++
	return nil
}

func (s *sloopStore) resSumStep(txn *badger.Txn, r *record, f *objectFields, part int64, wtype WatchType) error {
	k := key("ressum", part, r.kind, f.meta.Namespace, f.meta.Name, f.meta.UID)
	sum := &ResourceSummary{}
	err := getProto(txn, k, sum)
	switch {
	case err == nil:
		if wtype == WatchAdd {
			sum.FirstSeen = tsProto(r.ts)
		}
	case errors.Is(err, errNotFound):
		sum.FirstSeen = tsProto(r.ts)
		create := parseTime(f.meta.CreationTimestamp)
		if create == 0 {
			return fmt.Errorf("%s: unparsable creationTimestamp %q", k, f.meta.CreationTimestamp)
		}
		sum.CreateTime = tsProto(create)
	default:
		return err
	}
	sum.LastSeen = tsProto(r.ts)
	if wtype == WatchDelete {
		sum.DeletedAtEnd = true
	}
	sum.Relationships = sum.Relationships[:0]
	for _, o := range f.meta.OwnerReferences {
		sum.Relationships = append(sum.Relationships, key("ressum", part, o.Kind, f.meta.Namespace, o.Name, o.UID))
	}
	return setProto(txn, k, sum)
}

// ---- Sloop's informer caches (rocks.cc's InformerCache): the latest JSON of every live object
// per informer, replayed as updates at every resync.

type informerID struct{ group, version, resource, kind string }

type cachedObject struct {
	informer int
	json     []byte
}

type informerCache struct {
	informers []informerID
	objects   map[string]cachedObject
}

func (c *informerCache) setKey(r *record, f *objectFields) (string, int) {
	id := informerID{r.group, r.version, r.resource, r.kind}
	i := 0
	for ; i < len(c.informers); i++ {
		if c.informers[i] == id {
			break
		}
	}
	if i == len(c.informers) {
		c.informers = append(c.informers, id)
	}
	return strconv.Itoa(i) + "/" + f.meta.Namespace + "/" + f.meta.Name, i
}

func (c *informerCache) apply(r *record, typ string, f *objectFields) {
	k, i := c.setKey(r, f)
	if typ == "DELETED" {
		delete(c.objects, k)
		return
	}
	c.objects[k] = cachedObject{i, r.object}
}

func (c *informerCache) forget(r *record, f *objectFields) {
	k, _ := c.setKey(r, f)
	delete(c.objects, k)
}

// resync calls fn with every cached object as a MODIFIED record at ts, in the map's order (a Go
// map, as client-go's store).
func (c *informerCache) resync(ts int64, fn func(*record)) {
	for _, o := range c.objects {
		id := c.informers[o.informer]
		fn(&record{ts: ts, typ: "MODIFIED", group: id.group, version: id.version, resource: id.resource,
			kind: id.kind, object: o.json})
	}
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

func min64(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}
