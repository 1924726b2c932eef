package maptypes

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
)

// The cdb type: D. J. Bernstein's constant database format, as written by
// tinycdb and read by Postfix's dict_cdb. A file is a 2048-byte header of
// 256 (position, slot count) pairs, the records (key length, value length,
// key, value), then 256 hash tables of (hash, record position) slots.

func init() {
	Register("cdb", openCDB)
	RegisterCreator("cdb", createCDB)
	registerFixed("cdb")
}

func cdbHash(b []byte) uint32 {
	h := uint32(5381)
	for _, c := range b {
		h = (h + h<<5) ^ uint32(c)
	}
	return h
}

type cdbTable struct {
	path  string
	data  []byte
	flags OpenFlags
	stat  fileID
	// nulls is learned from the first key found, as Postfix does: a cdb
	// file's keys either all end in a null byte or none do, so later
	// lookups (misses above all) need try only that form.
	nulls atomic.Uint32
}

func openCDB(name string, flags OpenFlags) (Table, error) {
	path := name + ".cdb"
	if flags&Write != 0 {
		return nil, errors.New("dict_cdb_open: inappropriate open flags for cdb database - specify O_RDONLY or O_WRONLY|O_CREAT|O_TRUNC")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %s", path, errText(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open database %s: %s", path, errText(err))
	}
	t := &cdbTable{path: path, flags: flags, stat: idOf(st)}
	if st.Size() > 0 {
		// MAP_POPULATE maps every page at once: a query run touches pages
		// all over the file, and one fault per page costs more.
		t.data, err = syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED|syscall.MAP_POPULATE)
		if err != nil {
			return nil, fmt.Errorf("open database %s: %s", path, errText(err))
		}
	}
	if len(t.data) < 2048 {
		t.Close()
		return nil, fmt.Errorf("open database %s: invalid cdb file", path)
	}
	return t, nil
}

func (t *cdbTable) find(key []byte) (string, bool) {
	d := t.data
	h := cdbHash(key)
	hp := (h & 255) * 8
	pos := binary.LittleEndian.Uint32(d[hp:])
	slots := binary.LittleEndian.Uint32(d[hp+4:])
	if slots == 0 {
		return "", false
	}
	start := (h >> 8) % slots
	for i := uint32(0); i < slots; i++ {
		s := uint64(pos) + uint64((start+i)%slots)*8
		if s+8 > uint64(len(d)) {
			return "", false
		}
		sh := binary.LittleEndian.Uint32(d[s:])
		rp := uint64(binary.LittleEndian.Uint32(d[s+4:]))
		if rp == 0 {
			return "", false
		}
		if sh != h || rp+8 > uint64(len(d)) {
			continue
		}
		kl := uint64(binary.LittleEndian.Uint32(d[rp:]))
		vl := uint64(binary.LittleEndian.Uint32(d[rp+4:]))
		if kl != uint64(len(key)) || rp+8+kl+vl > uint64(len(d)) {
			continue
		}
		if string(d[rp+8:rp+8+kl]) == string(key) {
			return string(d[rp+8+kl : rp+8+kl+vl]), true
		}
	}
	return "", false
}

func (t *cdbTable) Lookup(key string) (string, bool, error) {
	if t.data == nil {
		return "", false, fmt.Errorf("%w: table cdb:%s is closed", ErrRetry, t.path)
	}
	key = fixedFold(key, t.flags)
	flags := t.flags
	if n := OpenFlags(t.nulls.Load()); n != 0 {
		flags = flags&^(TryNull0|TryNull1) | n
	}
	var withNull bool
	v, ok, err := lookupNulls(key, flags, func(k []byte) (string, bool) {
		v, ok := t.find(k)
		if ok {
			withNull = len(k) > len(key)
		}
		return v, ok
	})
	if ok && flags&(TryNull0|TryNull1) == 0 {
		if withNull {
			t.nulls.Store(uint32(TryNull1)) // only the form with the null byte
		} else {
			t.nulls.Store(uint32(TryNull0))
		}
	}
	return v, ok, err
}

// lookupNulls tries key with and/or without a terminating null byte as the
// flags ask, and strips a null byte from the value found.
func lookupNulls(key string, flags OpenFlags, get func([]byte) (string, bool)) (string, bool, error) {
	b := make([]byte, len(key)+1)
	copy(b, key)
	with, without := flags&TryNull0 == 0, flags&TryNull1 == 0
	if flags&(TryNull0|TryNull1) == 0 {
		with, without = true, true
	}
	if without {
		if v, ok := get(b[:len(key)]); ok {
			return trimNull(v), true, nil
		}
	}
	if with {
		if v, ok := get(b); ok {
			return trimNull(v), true, nil
		}
	}
	return "", false, nil
}

func trimNull(v string) string {
	if n := len(v); n > 0 && v[n-1] == 0 {
		return v[:n-1]
	}
	return v
}

func (t *cdbTable) Changed() bool { return changedSince(t.path, t.stat) }

func (t *cdbTable) Close() error {
	if t.data == nil {
		return nil
	}
	err := syscall.Munmap(t.data)
	t.data = nil
	return err
}

// cdbBuilder writes a new cdb file next to the final one and renames it.
type cdbBuilder struct {
	name, path string
	flags      OpenFlags
	tmp        *os.File
	w          *bufio.Writer
	pos        uint32
	seen       map[string]int // key -> index in recs
	recs       []cdbRec
	err        error
}

type cdbRec struct {
	hash, pos uint32
}

func createCDB(name string, flags OpenFlags) (Builder, error) {
	if flags&Incremental != 0 {
		return nil, errors.New("dict_cdb_open: inappropriate open flags for cdb database - specify O_RDONLY or O_WRONLY|O_CREAT|O_TRUNC")
	}
	path := name + ".cdb"
	tmp, err := createTemp(path)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %s", path, errText(err))
	}
	b := &cdbBuilder{name: name, path: path, flags: flags, tmp: tmp, pos: 2048, seen: map[string]int{}}
	b.w = bufio.NewWriterSize(tmp, 1<<20)
	if _, err := b.w.Write(make([]byte, 2048)); err != nil {
		b.Abort()
		return nil, err
	}
	return b, nil
}

func (b *cdbBuilder) Label() string { return b.name }

func (b *cdbBuilder) Add(key, value string) (bool, error) {
	if b.err != nil {
		return false, b.err
	}
	key = fixedFold(key, b.flags)
	if b.flags&TryNull1 != 0 {
		key += "\x00"
		value += "\x00"
	}
	if _, dup := b.seen[key]; dup {
		// Records cannot be replaced once written; like tinycdb's
		// insert mode, the first one stays.
		return true, nil
	}
	b.seen[key] = len(b.recs)
	var hdr [8]byte
	binary.LittleEndian.PutUint32(hdr[:], uint32(len(key)))
	binary.LittleEndian.PutUint32(hdr[4:], uint32(len(value)))
	b.w.Write(hdr[:])
	b.w.WriteString(key)
	_, err := b.w.WriteString(value)
	b.recs = append(b.recs, cdbRec{hash: cdbHash([]byte(key)), pos: b.pos})
	next := uint64(b.pos) + 8 + uint64(len(key)) + uint64(len(value))
	if next > 0xffffffff-uint64(len(b.recs))*16-8 {
		b.err = fmt.Errorf("%s: cdb file too large", b.path)
		return false, b.err
	}
	b.pos = uint32(next)
	if err != nil {
		b.err = err
	}
	return false, err
}

func (b *cdbBuilder) Commit() error {
	if b.err != nil {
		b.Abort()
		return b.err
	}
	var count [256]int
	for _, r := range b.recs {
		count[r.hash&255]++
	}
	// Records grouped by table, in insertion order.
	var start [257]int
	for i := 0; i < 256; i++ {
		start[i+1] = start[i] + count[i]
	}
	order := make([]cdbRec, len(b.recs))
	fill := start
	for _, r := range b.recs {
		t := r.hash & 255
		order[fill[t]] = r
		fill[t]++
	}
	var header [2048]byte
	pos := b.pos
	var slots []cdbRec
	var buf [8]byte
	for t := 0; t < 256; t++ {
		n := uint32(count[t] * 2)
		binary.LittleEndian.PutUint32(header[t*8:], pos)
		binary.LittleEndian.PutUint32(header[t*8+4:], n)
		if n == 0 {
			continue
		}
		if cap(slots) < int(n) {
			slots = make([]cdbRec, n)
		}
		slots = slots[:n]
		clear(slots)
		for i := start[t]; i < start[t+1]; i++ {
			r := order[i]
			s := (r.hash >> 8) % n
			for slots[s].pos != 0 {
				if s++; s == n {
					s = 0
				}
			}
			slots[s] = r
		}
		for _, r := range slots {
			binary.LittleEndian.PutUint32(buf[:], r.hash)
			binary.LittleEndian.PutUint32(buf[4:], r.pos)
			b.w.Write(buf[:])
		}
		pos += n * 8
	}
	if err := b.w.Flush(); err != nil {
		b.Abort()
		return err
	}
	if _, err := b.tmp.WriteAt(header[:], 0); err != nil {
		b.Abort()
		return err
	}
	return finishTemp(b.tmp, b.path)
}

func (b *cdbBuilder) Abort() {
	if b.tmp != nil {
		name := b.tmp.Name()
		b.tmp.Close()
		os.Remove(name)
		b.tmp = nil
	}
}

// AddExact stores key without case folding.
func (b *cdbBuilder) AddExact(key, value string) (bool, error) {
	saved := b.flags
	b.flags &^= FoldFixed
	defer func() { b.flags = saved }()
	return b.Add(key, value)
}
