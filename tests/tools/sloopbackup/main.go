// sloopbackup writes a Badger v2 database the way Sloop (github.com/salesforce/sloop) fills it —
// its key layout /<table>/<partition>/<kind>/<namespace>/<name>/<last> and its protobuf values —
// through Badger's own API, then calls db.Backup so that the backup's bytes come from Badger
// itself. It writes the raw backup (what Sloop's -restore-database-file reads), a zstd copy (as a
// download of the backup is often stored), and a JSON manifest of every watch row with what an
// import must make of it. The sloop-cpp tests import these files and compare with the manifest.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/DataDog/zstd"
	badger "github.com/dgraph-io/badger/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Sloop's schema.proto (package typed, proto3), built as a descriptor so that the values are
// marshalled by the protobuf library itself with Sloop's field numbers and types.
func sloopSchema() protoreflect.FileDescriptor {
	s := proto.String
	i := proto.Int32
	label := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()
	repeated := descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()
	field := func(name string, num int32, t descriptorpb.FieldDescriptorProto_Type, typeName string,
		l *descriptorpb.FieldDescriptorProto_Label) *descriptorpb.FieldDescriptorProto {
		f := &descriptorpb.FieldDescriptorProto{Name: s(name), Number: i(num), Type: t.Enum(), Label: l,
			JsonName: s(name)}
		if typeName != "" {
			f.TypeName = s(typeName)
		}
		return f
	}
	const (
		msg  = descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
		str  = descriptorpb.FieldDescriptorProto_TYPE_STRING
		enm  = descriptorpb.FieldDescriptorProto_TYPE_ENUM
		bl   = descriptorpb.FieldDescriptorProto_TYPE_BOOL
		i64  = descriptorpb.FieldDescriptorProto_TYPE_INT64
		ts   = ".google.protobuf.Timestamp"
		pkg  = "typed"
		file = "schema.proto"
	)
	fd := &descriptorpb.FileDescriptorProto{
		Name:       s(file),
		Package:    s(pkg),
		Syntax:     s("proto3"),
		Dependency: []string{"google/protobuf/timestamp.proto"},
		MessageType: []*descriptorpb.DescriptorProto{
			{
				Name: s("KubeWatchResult"),
				Field: []*descriptorpb.FieldDescriptorProto{
					field("timestamp", 1, msg, ts, label),
					field("kind", 2, str, "", label),
					field("watchType", 3, enm, ".typed.KubeWatchResult.WatchType", label),
					field("payload", 4, str, "", label),
				},
				EnumType: []*descriptorpb.EnumDescriptorProto{{
					Name: s("WatchType"),
					Value: []*descriptorpb.EnumValueDescriptorProto{
						{Name: s("ADD"), Number: i(0)},
						{Name: s("UPDATE"), Number: i(1)},
						{Name: s("DELETE"), Number: i(2)},
					},
				}},
			},
			{
				Name: s("ResourceSummary"),
				Field: []*descriptorpb.FieldDescriptorProto{
					field("firstSeen", 1, msg, ts, label),
					field("lastSeen", 2, msg, ts, label),
					field("createTime", 3, msg, ts, label),
					field("deletedAtEnd", 4, bl, "", label),
					field("relationships", 5, str, "", repeated),
				},
			},
			{
				Name: s("WatchActivity"),
				Field: []*descriptorpb.FieldDescriptorProto{
					field("NoChangeAt", 1, i64, "", repeated),
					field("ChangedAt", 2, i64, "", repeated),
				},
			},
			{
				// Its map<int64, EventCounts> field is left empty here: the import skips the table.
				Name: s("ResourceEventCounts"),
			},
		},
	}
	f, err := protodesc.NewFile(fd, protoRegistry{})
	if err != nil {
		log.Fatalf("schema: %v", err)
	}
	return f
}

// protoRegistry resolves the one import of schema.proto.
type protoRegistry struct{}

func (protoRegistry) FindFileByPath(path string) (protoreflect.FileDescriptor, error) {
	if path == "google/protobuf/timestamp.proto" {
		return timestamppb.File_google_protobuf_timestamp_proto, nil
	}
	return nil, fmt.Errorf("unknown import %q", path)
}

func (protoRegistry) FindDescriptorByName(name protoreflect.FullName) (protoreflect.Descriptor, error) {
	if name == "google.protobuf.Timestamp" {
		return (&timestamppb.Timestamp{}).ProtoReflect().Descriptor(), nil
	}
	return nil, fmt.Errorf("unknown name %q", name)
}

var schema = sloopSchema()

const (
	watchAdd    = 0
	watchUpdate = 1
	watchDelete = 2
)

func kubeWatchResult(ts time.Time, kind string, watchType int32, payload string) []byte {
	md := schema.Messages().ByName("KubeWatchResult")
	m := dynamicpb.NewMessage(md)
	m.Set(md.Fields().ByName("timestamp"), protoreflect.ValueOfMessage(timestamppb.New(ts).ProtoReflect()))
	m.Set(md.Fields().ByName("kind"), protoreflect.ValueOfString(kind))
	m.Set(md.Fields().ByName("watchType"), protoreflect.ValueOfEnum(protoreflect.EnumNumber(watchType)))
	m.Set(md.Fields().ByName("payload"), protoreflect.ValueOfString(payload))
	b, err := proto.Marshal(m)
	if err != nil {
		log.Fatalf("marshal: %v", err)
	}
	return b
}

func resourceSummary(first, last time.Time, deleted bool) []byte {
	md := schema.Messages().ByName("ResourceSummary")
	m := dynamicpb.NewMessage(md)
	m.Set(md.Fields().ByName("firstSeen"), protoreflect.ValueOfMessage(timestamppb.New(first).ProtoReflect()))
	m.Set(md.Fields().ByName("lastSeen"), protoreflect.ValueOfMessage(timestamppb.New(last).ProtoReflect()))
	m.Set(md.Fields().ByName("deletedAtEnd"), protoreflect.ValueOfBool(deleted))
	b, err := proto.Marshal(m)
	if err != nil {
		log.Fatalf("marshal: %v", err)
	}
	return b
}

func watchActivity(changed []int64) []byte {
	md := schema.Messages().ByName("WatchActivity")
	m := dynamicpb.NewMessage(md)
	list := m.Mutable(md.Fields().ByName("ChangedAt")).List()
	for _, c := range changed {
		list.Append(protoreflect.ValueOfInt64(c))
	}
	b, err := proto.Marshal(m)
	if err != nil {
		log.Fatalf("marshal: %v", err)
	}
	return b
}

// Sloop's partition: the UTC hour, as 12-digit zero-padded Unix seconds.
func partition(t time.Time) string {
	return fmt.Sprintf("%012d", t.UTC().Truncate(time.Hour).Unix())
}

func watchKey(t time.Time, kind, ns, name string) string {
	return fmt.Sprintf("/watch/%s/%s/%s/%s/%d", partition(t), kind, ns, name, t.UnixNano())
}

func derivedKey(table string, t time.Time, kind, ns, name, uid string) string {
	return fmt.Sprintf("/%s/%s/%s/%s/%s/%s", table, partition(t), kind, ns, name, uid)
}

// One watch row as the manifest describes it. Outcome is "imported", or "skipped:<reason>" with
// the reason the import's summary gives.
type Row struct {
	Key         string `json:"key"`
	SloopKind   string `json:"sloop_kind"`
	Kind        string `json:"kind"` // the kind sloop-cpp stores
	Namespace   string `json:"namespace"`
	Name        string `json:"name"`
	UID         string `json:"uid"`
	TimestampNs int64  `json:"timestamp_ns"`
	WatchType   string `json:"watch_type"` // ADD, UPDATE, DELETE
	Payload     string `json:"payload"`
	Outcome     string `json:"outcome"`
}

type Manifest struct {
	Rows         []Row          `json:"rows"`
	DerivedRows  map[string]int `json:"derived_rows"` // per table
	Partitions   []string       `json:"partitions"`
	BackupBytes  int64          `json:"backup_bytes"`
	BadgerRowsIn int            `json:"badger_kvs_written"`
}

type writer struct {
	db       *badger.DB
	manifest Manifest
	parts    map[string]bool
}

func (w *writer) set(key string, value []byte) {
	if err := w.db.Update(func(txn *badger.Txn) error { return txn.Set([]byte(key), value) }); err != nil {
		log.Fatalf("set %s: %v", key, err)
	}
	w.manifest.BadgerRowsIn++
}

var watchTypeNames = []string{"ADD", "UPDATE", "DELETE"}

func (w *writer) watch(t time.Time, sloopKind, kind, ns, name, uid string, wt int32, payload, outcome string) string {
	key := watchKey(t, sloopKind, ns, name)
	w.set(key, kubeWatchResult(t, sloopKind, wt, payload))
	w.parts[partition(t)] = true
	w.manifest.Rows = append(w.manifest.Rows, Row{Key: key, SloopKind: sloopKind, Kind: kind, Namespace: ns,
		Name: name, UID: uid, TimestampNs: t.UnixNano(), WatchType: watchTypeNames[wt], Payload: payload,
		Outcome: outcome})
	return key
}

func (w *writer) derived(table string, t time.Time, kind, ns, name, uid string, value []byte) {
	w.set(derivedKey(table, t, kind, ns, name, uid), value)
	w.manifest.DerivedRows[table]++
}

func objectJSON(apiVersion, kind, ns, name, uid string, rv int, extra string) string {
	nsField := ""
	if ns != "" {
		nsField = fmt.Sprintf(`,"namespace":%q`, ns)
	}
	// Sloop stores what its informers hand it: typed objects whose apiVersion/kind are often
	// empty, so some payloads here leave them out on purpose.
	head := ""
	if apiVersion != "" {
		head = fmt.Sprintf(`"apiVersion":%q,"kind":%q,`, apiVersion, kind)
	}
	return fmt.Sprintf(`{%s"metadata":{"name":%q%s,"uid":%q,"resourceVersion":"%d","creationTimestamp":"2026-11-20T08:59:00Z"}%s}`,
		head, name, nsField, uid, rv, extra)
}

// The fixed scenario: three hourly partitions, several kinds (Sloop's "Endpoint" among them, a
// cluster-scoped Node and Namespace, a custom resource), an Event about a Pod, a deletion, a key
// written twice (two Badger versions), a key deleted in Badger and one whose TTL expired.
func (w *writer) scenario(t0 time.Time) {
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	ok := "imported"
	w.watch(at(10*time.Second), "Namespace", "Namespace", "", "default", "ns-uid-1", watchAdd,
		objectJSON("", "", "", "default", "ns-uid-1", 5, `,"status":{"phase":"Active"}`), ok)
	w.watch(at(60*time.Second), "Pod", "Pod", "default", "web-1", "pod-uid-1", watchAdd,
		objectJSON("", "", "default", "web-1", "pod-uid-1", 100,
			`,"spec":{"nodeName":"node-1"},"status":{"phase":"Pending"}`), ok)
	w.watch(at(300*time.Second), "Pod", "Pod", "default", "web-1", "pod-uid-1", watchUpdate,
		objectJSON("v1", "Pod", "default", "web-1", "pod-uid-1", 120,
			`,"spec":{"nodeName":"node-1"},"status":{"phase":"Running","message":"caf\u00e9 \"ok\""}`), ok)
	w.watch(at(90*time.Second), "Deployment", "Deployment", "default", "web", "dep-uid-1", watchAdd,
		objectJSON("apps/v1", "Deployment", "default", "web", "dep-uid-1", 90, `,"spec":{"replicas":1}`), ok)
	w.watch(at(95*time.Second), "Endpoint", "Endpoints", "default", "web", "ep-uid-1", watchAdd,
		objectJSON("", "", "default", "web", "ep-uid-1", 91, `,"subsets":[]`), ok)
	w.watch(at(20*time.Second), "Node", "Node", "", "node-1", "node-uid-1", watchAdd,
		objectJSON("v1", "Node", "", "node-1", "node-uid-1", 7, `,"status":{"conditions":[]}`), ok)
	w.watch(at(time.Hour+20*time.Second), "Node", "Node", "", "node-1", "node-uid-1", watchUpdate,
		objectJSON("v1", "Node", "", "node-1", "node-uid-1", 700, `,"status":{"conditions":[{"type":"Ready"}]}`), ok)
	// An Event about the Pod, in the second partition.
	ev := `{"metadata":{"name":"web-1.17a","namespace":"default","uid":"ev-uid-1","resourceVersion":"130",` +
		`"creationTimestamp":"2026-11-20T10:02:00Z"},"involvedObject":{"kind":"Pod","namespace":"default",` +
		`"name":"web-1","uid":"pod-uid-1"},"reason":"BackOff","message":"Back-off restarting failed container",` +
		`"type":"Warning","count":3,"firstTimestamp":"2026-11-20T10:01:00Z","lastTimestamp":"2026-11-20T10:02:00Z"}`
	w.watch(at(time.Hour+120*time.Second), "Event", "Event", "default", "web-1.17a", "ev-uid-1", watchAdd, ev, ok)
	w.watch(at(time.Hour+30*time.Minute), "ConfigMap", "ConfigMap", "kube-system", "cfg", "cm-uid-1", watchAdd,
		objectJSON("", "", "kube-system", "cfg", "cm-uid-1", 140, `,"data":{"a":"1"}`), ok)
	w.watch(at(time.Hour+40*time.Minute), "Widget", "Widget", "team-a", "w1", "wid-uid-1", watchAdd,
		objectJSON("example.com/v1", "Widget", "team-a", "w1", "wid-uid-1", 150, `,"spec":{"size":3}`), ok)
	// The Pod is deleted in the third partition.
	w.watch(at(2*time.Hour+600*time.Second), "Pod", "Pod", "default", "web-1", "pod-uid-1", watchDelete,
		objectJSON("v1", "Pod", "default", "web-1", "pod-uid-1", 200,
			`,"metadata2":{},"status":{"phase":"Succeeded"}`), ok)

	// Two Badger versions of one key: the backup holds both, the newest is the row's value.
	tv := at(2*time.Hour + 700*time.Second)
	old := objectJSON("", "", "default", "versioned", "ver-uid-1", 300, `,"data":{"v":"old"}`)
	oldKey := w.watch(tv, "ConfigMap", "ConfigMap", "default", "versioned", "ver-uid-1", watchAdd, old,
		"skipped:older Badger version of a key")
	w.watch(tv, "ConfigMap", "ConfigMap", "default", "versioned", "ver-uid-1", watchAdd,
		objectJSON("", "", "default", "versioned", "ver-uid-1", 301, `,"data":{"v":"new"}`), ok)
	_ = oldKey

	// A key deleted in Badger (Sloop's GC deletes keys): a delete marker in the backup.
	gone := w.watch(at(2*time.Hour+800*time.Second), "Pod", "Pod", "default", "gone", "gone-uid", watchAdd,
		objectJSON("", "", "default", "gone", "gone-uid", 400, ""), "skipped:deleted in Badger")
	if err := w.db.Update(func(txn *badger.Txn) error { return txn.Delete([]byte(gone)) }); err != nil {
		log.Fatalf("delete: %v", err)
	}
	// A key whose TTL has passed by the time of the backup.
	te := at(2*time.Hour + 900*time.Second)
	exp := objectJSON("", "", "default", "expired", "exp-uid", 500, "")
	ekey := watchKey(te, "Pod", "default", "expired")
	if err := w.db.Update(func(txn *badger.Txn) error {
		return txn.SetEntry(badger.NewEntry([]byte(ekey), kubeWatchResult(te, "Pod", watchAdd, exp)).WithTTL(time.Second))
	}); err != nil {
		log.Fatalf("set with ttl: %v", err)
	}
	w.manifest.BadgerRowsIn++
	w.manifest.Rows = append(w.manifest.Rows, Row{Key: ekey, SloopKind: "Pod", Kind: "Pod", Namespace: "default",
		Name: "expired", UID: "exp-uid", TimestampNs: te.UnixNano(), WatchType: "ADD", Payload: exp,
		Outcome: "skipped:expired in Badger"})

	// The derived tables, as Sloop's processing writes them.
	w.derived("ressum", at(60*time.Second), "Pod", "default", "web-1", "pod-uid-1",
		resourceSummary(at(60*time.Second), at(300*time.Second), false))
	w.derived("ressum", at(time.Hour), "Pod", "default", "web-1", "pod-uid-1",
		resourceSummary(at(time.Hour), at(2*time.Hour-time.Second), false))
	w.derived("watchactivity", at(60*time.Second), "Pod", "default", "web-1", "pod-uid-1",
		watchActivity([]int64{at(60 * time.Second).Unix(), at(300 * time.Second).Unix()}))
	w.derived("eventcount", at(time.Hour+120*time.Second), "Pod", "default", "web-1", "pod-uid-1", []byte{})
}

// Bulk rows for measuring: `pods` Pods updated round-robin, one row per step of `step`.
func (w *writer) bulk(t0 time.Time, rows, pods int, step time.Duration) {
	const batch = 1000
	for done := 0; done < rows; {
		wb := w.db.NewWriteBatch()
		for i := 0; i < batch && done < rows; i, done = i+1, done+1 {
			p := done % pods
			t := t0.Add(time.Duration(done) * step)
			name := fmt.Sprintf("bulk-%05d", p)
			uid := fmt.Sprintf("bulk-uid-%05d", p)
			wt := int32(watchUpdate)
			if done < pods {
				wt = watchAdd
			}
			payload := objectJSON("v1", "Pod", "bulk", name, uid, 1000+done,
				fmt.Sprintf(`,"spec":{"nodeName":"node-%d","containers":[{"name":"app","image":"registry.example/app:1.%d"}]},"status":{"phase":"Running","podIP":"10.0.%d.%d"}`,
					p%7, done%13, p%250, done%250))
			key := watchKey(t, "Pod", "bulk", name)
			if err := wb.Set([]byte(key), kubeWatchResult(t, "Pod", wt, payload)); err != nil {
				log.Fatalf("bulk set: %v", err)
			}
			w.parts[partition(t)] = true
			w.manifest.BadgerRowsIn++
		}
		if err := wb.Flush(); err != nil {
			log.Fatalf("bulk flush: %v", err)
		}
	}
}

func main() {
	out := flag.String("out", "", "directory to write sloop.bak, sloop.bak.zst, manifest.json (and the Badger DB under db/)")
	bulkRows := flag.Int("bulk-rows", 0, "extra Pod watch rows for measuring (not listed in the manifest)")
	bulkPods := flag.Int("bulk-pods", 500, "distinct Pods among the bulk rows")
	bulkStep := flag.Duration("bulk-step", 100*time.Millisecond, "time between bulk rows")
	noScenario := flag.Bool("no-scenario", false, "write only the bulk rows")
	flag.Parse()
	if *out == "" {
		log.Fatal("give -out DIR")
	}
	dbDir := filepath.Join(*out, "db")
	if err := os.RemoveAll(dbDir); err != nil {
		log.Fatal(err)
	}
	opts := badger.DefaultOptions(dbDir).WithLogger(nil)
	db, err := badger.Open(opts)
	if err != nil {
		log.Fatalf("open badger: %v", err)
	}
	w := &writer{db: db, parts: map[string]bool{}, manifest: Manifest{DerivedRows: map[string]int{}}}
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	if !*noScenario {
		w.scenario(t0)
	}
	if *bulkRows > 0 {
		w.bulk(t0.Add(-24*time.Hour), *bulkRows, *bulkPods, *bulkStep)
	}
	// Let the TTL of the expiring row pass before the backup.
	if !*noScenario {
		time.Sleep(1500 * time.Millisecond)
	}
	raw, err := os.Create(filepath.Join(*out, "sloop.bak"))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := db.Backup(raw, 0); err != nil {
		log.Fatalf("backup: %v", err)
	}
	if err := raw.Close(); err != nil {
		log.Fatal(err)
	}
	if err := db.Close(); err != nil {
		log.Fatal(err)
	}
	// The compressed copy: the same bytes through a zstd stream.
	data, err := os.ReadFile(filepath.Join(*out, "sloop.bak"))
	if err != nil {
		log.Fatal(err)
	}
	zf, err := os.Create(filepath.Join(*out, "sloop.bak.zst"))
	if err != nil {
		log.Fatal(err)
	}
	zw := zstd.NewWriter(zf)
	if _, err := zw.Write(data); err != nil {
		log.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		log.Fatal(err)
	}
	if err := zf.Close(); err != nil {
		log.Fatal(err)
	}
	w.manifest.BackupBytes = int64(len(data))
	for p := range w.parts {
		w.manifest.Partitions = append(w.manifest.Partitions, p)
	}
	sort.Strings(w.manifest.Partitions)
	mj, err := json.MarshalIndent(&w.manifest, "", " ")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*out, "manifest.json"), mj, 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.RemoveAll(dbDir); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("sloopbackup: %d Badger writes, %d bytes of backup in %s\n", w.manifest.BadgerRowsIn, len(data), *out)
}
