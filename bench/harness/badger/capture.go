package main

// The capture reader (docs/format/capture.md): a plain or zstd-compressed file of one JSON object
// per line, a header first. The same contract as the C++ harness's reader (bench/harness/
// capture.cc): records with an unknown type are skipped and counted, a torn last line is ignored,
// any other line that does not parse stops the replay with its line number.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/DataDog/zstd"
)

type captureRecord struct {
	Ts         *int64          `json:"ts"`
	Type       string          `json:"type"`
	Group      string          `json:"group"`
	Version    string          `json:"version"`
	Resource   string          `json:"resource"`
	Kind       string          `json:"kind"`
	Namespaced *bool           `json:"namespaced"`
	Object     json.RawMessage `json:"object"`
}

// record is one record as the replay uses it.
type record struct {
	ts                             int64
	typ                            string
	group, version, resource, kind string
	namespaced                     bool
	object                         []byte
}

type captureStats struct {
	records, unknownTypes, fileBytes, objectBytes uint64
	tornTail                                      bool
}

type countingReader struct {
	r io.Reader
	n *uint64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.n += uint64(n)
	return n, err
}

var zstdMagic = []byte{0x28, 0xB5, 0x2F, 0xFD}

// readCapture calls fn for every record of the file, in order.
func readCapture(path string, fn func(*record), st *captureStats) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	raw := bufio.NewReaderSize(countingReader{f, &st.fileBytes}, 1<<20)
	var in io.Reader = raw
	if magic, _ := raw.Peek(4); bytes.Equal(magic, zstdMagic) {
		z := zstd.NewReader(raw)
		defer z.Close()
		in = z
	}
	lines := bufio.NewReaderSize(in, 4<<20)
	var line []byte
	var n uint64
	header := false
	for {
		chunk, err := lines.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			line = append(line, chunk...)
			continue
		}
		if err == io.EOF {
			if len(line)+len(chunk) > 0 {
				st.tornTail = true
			}
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %v", path, err)
		}
		if len(line) > 0 {
			line = append(line, chunk...)
			chunk = line
		}
		n++
		text := chunk[:len(chunk)-1]
		if !header {
			var h struct {
				Format  string `json:"format"`
				Version int64  `json:"version"`
			}
			if err := json.Unmarshal(text, &h); err != nil {
				return fmt.Errorf("%s: line %d: %v", path, n, err)
			}
			if h.Format != "sloop-capture" {
				return fmt.Errorf("%s: not a sloop capture (format %q)", path, h.Format)
			}
			if h.Version != 1 {
				return fmt.Errorf("%s: capture version %d is not supported", path, h.Version)
			}
			header = true
		} else {
			var c captureRecord
			if err := json.Unmarshal(text, &c); err != nil {
				return fmt.Errorf("%s: line %d: %v", path, n, err)
			}
			if c.Ts == nil || c.Type == "" || c.Kind == "" || len(c.Object) == 0 {
				return fmt.Errorf("%s: line %d: record lacks ts, type, kind or object", path, n)
			}
			switch c.Type {
			case "LIST", "ADDED", "MODIFIED", "DELETED":
				st.records++
				st.objectBytes += uint64(len(c.Object))
				fn(&record{ts: *c.Ts, typ: c.Type, group: c.Group, version: c.Version,
					resource: c.Resource, kind: c.Kind, namespaced: c.Namespaced == nil || *c.Namespaced,
					object: c.Object})
			default:
				st.unknownTypes++
			}
		}
		line = line[:0]
	}
	if !header {
		return fmt.Errorf("%s: empty capture (no header)", path)
	}
	return nil
}
