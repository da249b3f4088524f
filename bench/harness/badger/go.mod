module sloop-cpp/bench/harness/badger

go 1.19

require (
	github.com/DataDog/zstd v1.4.1
	github.com/cespare/xxhash v1.1.0
	github.com/dgraph-io/badger/v2 v2.2007.2
	github.com/diegoholiveira/jsonlogic/v3 v3.5.3
	github.com/golang/protobuf v1.3.1
)

require (
	github.com/barkimedes/go-deepcopy v0.0.0-20220514131651-17c30cfc62df // indirect
	github.com/dgraph-io/ristretto v0.0.3-0.20200630154024-f66de99634de // indirect
	github.com/dgryski/go-farm v0.0.0-20190423205320-6a90982ecee2 // indirect
	github.com/dustin/go-humanize v1.0.0 // indirect
	github.com/golang/snappy v0.0.1 // indirect
	github.com/pkg/errors v0.8.1 // indirect
	golang.org/x/net v0.0.0-20190620200207-3b0461eec859 // indirect
	golang.org/x/sys v0.0.0-20190626221950-04f50cda93cb // indirect
)
