package storage

import (
	"fmt"
	"io"
)

// Page and element layout of bbolt's B+tree pages (see freelist.go for the
// page header). Element positions are relative to the element itself.
const (
	branchPageFlag = 0x01
	leafPageFlag   = 0x02
	bucketLeafFlag = 0x01
	elementSize    = 16
	bucketHeader   = 16
	// maxDepth bounds the nesting of pages and buckets the walk follows.
	maxDepth = 64
)

// pageWalker reads the whole tree of a bbolt file from the file itself, not
// from a memory map, and checks that every page reference and every key and
// value stays inside the file's pages, so that bbolt can then read the file
// without faulting.
type pageWalker struct {
	f    io.ReaderAt
	m    meta
	seen map[uint64]bool
}

// checkPages walks every bucket from the root of m.
func checkPages(f io.ReaderAt, m meta) error {
	w := &pageWalker{f: f, m: m, seen: make(map[uint64]bool)}
	return w.visit(m.root, 0)
}

// visit reads page id (with its overflow pages) and checks its elements.
func (w *pageWalker) visit(id uint64, depth int) error {
	switch {
	case depth > maxDepth:
		return fmt.Errorf("page %d: tree deeper than %d", id, maxDepth)
	case id < 2 || id >= w.m.pages:
		return fmt.Errorf("page %d is outside the file's %d pages", id, w.m.pages)
	case w.seen[id]:
		return fmt.Errorf("page %d is referenced twice", id)
	}
	size := uint64(w.m.pageSize)
	hdr := make([]byte, pageHeaderSize)
	if _, err := w.f.ReadAt(hdr, int64(id*size)); err != nil {
		return fmt.Errorf("read page %d: %w", id, err)
	}
	overflow := uint64(ne.Uint32(hdr[12:]))
	if ne.Uint64(hdr) != id || id+overflow >= w.m.pages {
		return fmt.Errorf("page %d: header names page %d with %d overflow pages", id, ne.Uint64(hdr), overflow)
	}
	for i := id; i <= id+overflow; i++ {
		w.seen[i] = true
	}
	p := make([]byte, (overflow+1)*size)
	if _, err := w.f.ReadAt(p, int64(id*size)); err != nil {
		return fmt.Errorf("read page %d: %w", id, err)
	}
	return w.elements(p, fmt.Sprintf("page %d", id), depth)
}

// elements checks the elements of a branch or leaf page p, following child
// pages and buckets.
func (w *pageWalker) elements(p []byte, where string, depth int) error {
	flags, count := ne.Uint16(p[8:]), uint64(ne.Uint16(p[10:]))
	if pageHeaderSize+count*elementSize > uint64(len(p)) {
		return fmt.Errorf("%s: %d elements do not fit", where, count)
	}
	for i := range count {
		off := pageHeaderSize + i*elementSize
		e := p[off : off+elementSize]
		var err error
		switch flags {
		case branchPageFlag:
			err = w.branch(p, off, e, where, depth)
		case leafPageFlag:
			err = w.leaf(p, off, e, where, depth)
		default:
			return fmt.Errorf("%s: flags %#x, not a branch or leaf page", where, flags)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// branch checks one branch element (pos, ksize uint32; child page uint64).
func (w *pageWalker) branch(p []byte, off uint64, e []byte, where string, depth int) error {
	if end := off + uint64(ne.Uint32(e)) + uint64(ne.Uint32(e[4:])); end > uint64(len(p)) {
		return fmt.Errorf("%s: a key runs past the page", where)
	}
	return w.visit(ne.Uint64(e[8:]), depth+1)
}

// leaf checks one leaf element (flags, pos, ksize, vsize uint32) and walks
// the bucket it holds, if any.
func (w *pageWalker) leaf(p []byte, off uint64, e []byte, where string, depth int) error {
	start := off + uint64(ne.Uint32(e[4:])) + uint64(ne.Uint32(e[8:]))
	end := start + uint64(ne.Uint32(e[12:]))
	if end > uint64(len(p)) {
		return fmt.Errorf("%s: a key or value runs past the page", where)
	}
	if ne.Uint32(e)&bucketLeafFlag == 0 {
		return nil
	}
	v := p[start:end]
	if len(v) < bucketHeader {
		return fmt.Errorf("%s: a bucket header is cut short", where)
	}
	if root := ne.Uint64(v); root != 0 {
		return w.visit(root, depth+1)
	}
	inline := v[bucketHeader:]
	if len(inline) < pageHeaderSize || ne.Uint16(inline[8:]) != leafPageFlag {
		return fmt.Errorf("%s: an inline bucket is not a leaf page", where)
	}
	return w.elements(inline, where+" (inline bucket)", depth+1)
}
