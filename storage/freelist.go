package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"
)

// bbolt's on-disk layout, as far as the checks before opening need it:
// every page starts with a 16-byte header (id uint64, flags uint16, count
// uint16, overflow uint32). A meta page holds after it magic, version, page
// size, flags (uint32 each), the root bucket (root page and sequence,
// uint64 each), then the freelist page, the high-water page and the
// transaction id (uint64 each). Integers are in the machine's byte order.
const (
	pageHeaderSize    = 16
	metaRootAt        = pageHeaderSize + 16
	metaFreelistAt    = pageHeaderSize + 32
	metaTxIDAt        = pageHeaderSize + 48
	freelistPageFlag  = 0x10
	noFreelist        = ^uint64(0)
	freelistCountWide = 0xFFFF
)

var ne = binary.NativeEndian

// meta is what the checks need of the meta page a transaction reads.
type meta struct {
	root, freelist uint64
	// pages is the high-water mark: the number of pages in use.
	pages    uint64
	pageSize int
}

// activeMeta reads, from the file, the meta page tx was read from: the one
// whose transaction id is tx's.
func activeMeta(f io.ReaderAt, tx *bolt.Tx, pageSize int) (meta, error) {
	buf := make([]byte, metaTxIDAt+8)
	for i := range 2 {
		if _, err := f.ReadAt(buf, int64(i*pageSize)); err != nil {
			return meta{}, fmt.Errorf("read meta page %d: %w", i, err)
		}
		if ne.Uint64(buf[metaTxIDAt:]) == uint64(tx.ID()) {
			return meta{root: ne.Uint64(buf[metaRootAt:]), freelist: ne.Uint64(buf[metaFreelistAt:]),
				pages: uint64(tx.Size()) / uint64(pageSize), pageSize: pageSize}, nil
		}
	}
	return meta{}, errors.New("no meta page matches the current transaction")
}

// checkFreelist checks that the freelist page is one, and that its entries
// fit in the page and point below the high-water mark. bbolt panics, or
// reads past its memory map, when they do not.
func checkFreelist(f io.ReaderAt, m meta) error {
	if m.freelist == noFreelist {
		return nil
	}
	if m.freelist < 2 || m.freelist >= m.pages {
		return fmt.Errorf("freelist page %d is outside the file's %d pages", m.freelist, m.pages)
	}
	hdr := make([]byte, pageHeaderSize+8)
	if _, err := f.ReadAt(hdr, int64(m.freelist)*int64(m.pageSize)); err != nil {
		return fmt.Errorf("read freelist page %d: %w", m.freelist, err)
	}
	if ne.Uint16(hdr[8:]) != freelistPageFlag || ne.Uint64(hdr) != m.freelist {
		return fmt.Errorf("invalid freelist page %d", m.freelist)
	}
	count, at := uint64(ne.Uint16(hdr[10:])), uint64(pageHeaderSize)
	if count == freelistCountWide {
		count, at = ne.Uint64(hdr[pageHeaderSize:]), at+8
	}
	span := (uint64(ne.Uint32(hdr[12:])) + 1) * uint64(m.pageSize)
	if count > span/8 || at+count*8 > span || m.freelist*uint64(m.pageSize)+span > m.pages*uint64(m.pageSize) {
		return fmt.Errorf("freelist page %d claims %d entries, more than it holds", m.freelist, count)
	}
	ids := make([]byte, count*8)
	if _, err := f.ReadAt(ids, int64(m.freelist)*int64(m.pageSize)+int64(at)); err != nil {
		return fmt.Errorf("read freelist: %w", err)
	}
	for i := range count {
		if id := ne.Uint64(ids[i*8:]); id < 2 || id >= m.pages {
			return fmt.Errorf("freelist lists page %d, outside the file's %d pages", id, m.pages)
		}
	}
	return nil
}
