package main

// Sloop's value messages (its schema.proto, package typed, proto3), written as protoc-gen-go of
// the golang/protobuf 1.3 era writes them: structs with protobuf tags and the XXX_ methods that
// let proto.Marshal and proto.Unmarshal take the table-driven path, as Sloop's generated code
// does. The field numbers and types are Sloop's (sloop-reference section 7.3), so the bytes are
// the bytes Sloop stores.

import (
	"github.com/golang/protobuf/proto"
	"github.com/golang/protobuf/ptypes/timestamp"
)

type WatchType int32

const (
	WatchAdd    WatchType = 0
	WatchUpdate WatchType = 1
	WatchDelete WatchType = 2
)

// KubeWatchResult: one watch row's value.
type KubeWatchResult struct {
	Timestamp *timestamp.Timestamp `protobuf:"bytes,1,opt,name=timestamp,proto3"`
	Kind      string               `protobuf:"bytes,2,opt,name=kind,proto3"`
	WatchType WatchType            `protobuf:"varint,3,opt,name=watchType,proto3"`
	Payload   string               `protobuf:"bytes,4,opt,name=payload,proto3"`
}

// ResourceSummary: one ressum row's value.
type ResourceSummary struct {
	FirstSeen     *timestamp.Timestamp `protobuf:"bytes,1,opt,name=firstSeen,proto3"`
	LastSeen      *timestamp.Timestamp `protobuf:"bytes,2,opt,name=lastSeen,proto3"`
	CreateTime    *timestamp.Timestamp `protobuf:"bytes,3,opt,name=createTime,proto3"`
	DeletedAtEnd  bool                 `protobuf:"varint,4,opt,name=deletedAtEnd,proto3"`
	Relationships []string             `protobuf:"bytes,5,rep,name=relationships,proto3"`
}

// EventCounts: reason:type -> count in one minute.
type EventCounts struct {
	MapReasonToCount map[string]int32 `protobuf:"bytes,1,rep,name=mapReasonToCount,proto3" protobuf_key:"bytes,1,opt,name=key,proto3" protobuf_val:"varint,2,opt,name=value,proto3"`
}

// ResourceEventCounts: one eventcount row's value, unix minute (in seconds) -> counts.
type ResourceEventCounts struct {
	MapMinToEvents map[int64]*EventCounts `protobuf:"bytes,1,rep,name=mapMinToEvents,proto3" protobuf_key:"varint,1,opt,name=key,proto3" protobuf_val:"bytes,2,opt,name=value,proto3"`
}

// WatchActivity: one watchactivity row's value, unix seconds.
type WatchActivity struct {
	NoChangeAt []int64 `protobuf:"varint,1,rep,packed,name=NoChangeAt,proto3"`
	ChangedAt  []int64 `protobuf:"varint,2,rep,packed,name=ChangedAt,proto3"`
}

var (
	infoWatch, infoSummary, infoCounts, infoEventCounts, infoActivity proto.InternalMessageInfo
)

func (m *KubeWatchResult) Reset()         { *m = KubeWatchResult{} }
func (m *KubeWatchResult) String() string { return proto.CompactTextString(m) }
func (*KubeWatchResult) ProtoMessage()    {}
func (m *KubeWatchResult) XXX_Unmarshal(b []byte) error {
	return infoWatch.Unmarshal(m, b)
}
func (m *KubeWatchResult) XXX_Marshal(b []byte, deterministic bool) ([]byte, error) {
	return infoWatch.Marshal(b, m, deterministic)
}
func (m *KubeWatchResult) XXX_Size() int { return infoWatch.Size(m) }

func (m *ResourceSummary) Reset()         { *m = ResourceSummary{} }
func (m *ResourceSummary) String() string { return proto.CompactTextString(m) }
func (*ResourceSummary) ProtoMessage()    {}
func (m *ResourceSummary) XXX_Unmarshal(b []byte) error {
	return infoSummary.Unmarshal(m, b)
}
func (m *ResourceSummary) XXX_Marshal(b []byte, deterministic bool) ([]byte, error) {
	return infoSummary.Marshal(b, m, deterministic)
}
func (m *ResourceSummary) XXX_Size() int { return infoSummary.Size(m) }

func (m *EventCounts) Reset()         { *m = EventCounts{} }
func (m *EventCounts) String() string { return proto.CompactTextString(m) }
func (*EventCounts) ProtoMessage()    {}
func (m *EventCounts) XXX_Unmarshal(b []byte) error {
	return infoEventCounts.Unmarshal(m, b)
}
func (m *EventCounts) XXX_Marshal(b []byte, deterministic bool) ([]byte, error) {
	return infoEventCounts.Marshal(b, m, deterministic)
}
func (m *EventCounts) XXX_Size() int { return infoEventCounts.Size(m) }

func (m *ResourceEventCounts) Reset()         { *m = ResourceEventCounts{} }
func (m *ResourceEventCounts) String() string { return proto.CompactTextString(m) }
func (*ResourceEventCounts) ProtoMessage()    {}
func (m *ResourceEventCounts) XXX_Unmarshal(b []byte) error {
	return infoCounts.Unmarshal(m, b)
}
func (m *ResourceEventCounts) XXX_Marshal(b []byte, deterministic bool) ([]byte, error) {
	return infoCounts.Marshal(b, m, deterministic)
}
func (m *ResourceEventCounts) XXX_Size() int { return infoCounts.Size(m) }

func (m *WatchActivity) Reset()         { *m = WatchActivity{} }
func (m *WatchActivity) String() string { return proto.CompactTextString(m) }
func (*WatchActivity) ProtoMessage()    {}
func (m *WatchActivity) XXX_Unmarshal(b []byte) error {
	return infoActivity.Unmarshal(m, b)
}
func (m *WatchActivity) XXX_Marshal(b []byte, deterministic bool) ([]byte, error) {
	return infoActivity.Marshal(b, m, deterministic)
}
func (m *WatchActivity) XXX_Size() int { return infoActivity.Size(m) }

// Timestamps as Sloop converts them (ptypes.TimestampProto of a time.Time).
func tsProto(ns int64) *timestamp.Timestamp {
	return &timestamp.Timestamp{Seconds: ns / 1e9, Nanos: int32(ns % 1e9)}
}

func tsNanos(t *timestamp.Timestamp) int64 {
	if t == nil {
		return 0
	}
	return t.Seconds*1e9 + int64(t.Nanos)
}
