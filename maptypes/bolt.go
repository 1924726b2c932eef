package maptypes

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The hash, btree and lmdb types share one on-disk format: a bbolt file
// (NAME.db for hash and btree, NAME.lmdb for lmdb) with one bucket. A
// NAME.db written by Postfix itself (Berkeley DB) is recognised and
// reported with the command that rebuilds it.

func init() {
	for _, typ := range []string{"hash", "btree", "lmdb"} {
		typ := typ
		Register(typ, func(name string, flags OpenFlags) (Table, error) { return openBolt(typ, name, flags) })
		RegisterCreator(typ, func(name string, flags OpenFlags) (Builder, error) { return createBolt(typ, name, flags) })
		registerFixed(typ)
	}
}

var boltBucket = []byte("postfix")

func boltSuffix(typ string) string {
	if typ == "lmdb" {
		return ".lmdb"
	}
	return ".db"
}

// berkeleyMagic reports whether the first bytes of a file are a Berkeley
// DB hash or btree header (the format Postfix's own postmap writes).
func berkeleyMagic(head []byte) bool {
	if len(head) < 16 {
		return false
	}
	for _, m := range []uint32{0x061561, 0x053162} {
		if binary.LittleEndian.Uint32(head[12:]) == m || binary.BigEndian.Uint32(head[12:]) == m {
			return true
		}
	}
	return false
}

// checkForeign returns an error when path exists but is not a bbolt file.
func checkForeign(typ, name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	head := make([]byte, 64)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if berkeleyMagic(head) {
		return fmt.Errorf("open database %s: this is a Berkeley DB file made by Postfix; rebuild it with \"postmap %s:%s\"", path, typ, name)
	}
	if n < 24 || binary.LittleEndian.Uint32(head[16:]) != 0xED0CDAED {
		return fmt.Errorf("open database %s: unknown file format; rebuild it with \"postmap %s:%s\"", path, typ, name)
	}
	return nil
}

type boltTable struct {
	typ, path string
	db        *bolt.DB
	tx        *bolt.Tx // write transaction when opened with Write
	flags     OpenFlags
	stat      fileID
	// With Write, changes go to a copy of the file (tmp) that replaces
	// the table at Close, so that readers never wait for a lock and never
	// see half an update; dirLock serializes writers.
	tmp     string
	dirLock *os.File
}

func openBolt(typ, name string, flags OpenFlags) (Table, error) {
	path := name + boltSuffix(typ)
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %s", path, errText(err))
	}
	if err := checkForeign(typ, name, path); err != nil {
		return nil, err
	}
	t := &boltTable{typ: typ, path: path, flags: flags, stat: idOf(st)}
	file := path
	if flags&Write != 0 {
		if file, err = t.writableCopy(); err != nil {
			return nil, fmt.Errorf("open database %s: %s", path, errText(err))
		}
	}
	opts := &bolt.Options{ReadOnly: flags&Write == 0, Timeout: 10 * time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType}
	db, err := bolt.Open(file, 0o644, opts)
	if err != nil {
		t.dropCopy()
		return nil, fmt.Errorf("open database %s: %s", path, errText(err))
	}
	t.db = db
	if flags&Write != 0 {
		if t.tx, err = db.Begin(true); err != nil {
			db.Close()
			t.dropCopy()
			return nil, fmt.Errorf("open database %s: %s", path, errText(err))
		}
		if _, err := t.tx.CreateBucketIfNotExists(boltBucket); err != nil {
			t.tx.Rollback()
			db.Close()
			t.dropCopy()
			return nil, fmt.Errorf("open database %s: %s", path, errText(err))
		}
	}
	return t, nil
}

// writableCopy locks the table's directory against other writers and
// copies the table to a temporary file.
func (t *boltTable) writableCopy() (string, error) {
	dir := "."
	if i := strings.LastIndexByte(t.path, '/'); i >= 0 {
		dir = t.path[:i+1]
	}
	d, err := os.Open(dir)
	if err != nil {
		return "", err
	}
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX); err != nil {
		d.Close()
		return "", err
	}
	t.dirLock = d
	src, err := os.Open(t.path)
	if err != nil {
		t.dropCopy()
		return "", err
	}
	defer src.Close()
	tmp, err := createTemp(t.path)
	if err != nil {
		t.dropCopy()
		return "", err
	}
	t.tmp = tmp.Name()
	_, err = io.Copy(tmp, src)
	if e := tmp.Close(); err == nil {
		err = e
	}
	if err != nil {
		t.dropCopy()
		return "", err
	}
	return t.tmp, nil
}

// dropCopy removes the temporary copy and releases the writer lock.
func (t *boltTable) dropCopy() {
	if t.tmp != "" {
		os.Remove(t.tmp)
		t.tmp = ""
	}
	if t.dirLock != nil {
		t.dirLock.Close()
		t.dirLock = nil
	}
}

func (t *boltTable) view(fn func(b *bolt.Bucket) error) error {
	if t.tx != nil {
		return fn(t.tx.Bucket(boltBucket))
	}
	return t.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(boltBucket)
		if b == nil {
			return nil
		}
		return fn(b)
	})
}

func (t *boltTable) Lookup(key string) (string, bool, error) {
	if t.db == nil {
		return "", false, fmt.Errorf("%w: table %s:%s is closed", ErrRetry, t.typ, t.path)
	}
	key = fixedFold(key, t.flags)
	var value string
	var found bool
	err := t.view(func(b *bolt.Bucket) error {
		value, found, _ = lookupNulls(key, t.flags, func(k []byte) (string, bool) {
			v := b.Get(k)
			if v == nil {
				return "", false
			}
			return string(v), true
		})
		return nil
	})
	if err != nil {
		return "", false, fmt.Errorf("%w: %s: %v", ErrRetry, t.path, err)
	}
	return value, found, nil
}

// storeForm returns key and value as they are stored under flags.
func storeForm(key, value string, flags OpenFlags) ([]byte, []byte) {
	k := []byte(fixedFold(key, flags))
	v := []byte(value)
	if flags&TryNull1 != 0 || len(k) == 0 {
		// bbolt cannot store an empty key: the empty key is always
		// stored in its null-terminated form.
		k = append(k, 0)
		v = append(v, 0)
	}
	return k, v
}

// existing finds key in b in any null-termination form.
func existingKey(b *bolt.Bucket, k []byte, flags OpenFlags) []byte {
	if b.Get(k) != nil {
		return k
	}
	if flags&(TryNull1|TryNull0) == 0 {
		alt := append(slices.Clone(k), 0)
		if b.Get(alt) != nil {
			return alt
		}
	}
	return nil
}

func (t *boltTable) Update(key, value string) (bool, error) {
	if t.tx == nil {
		return false, fmt.Errorf("table %s:%s: not opened for writing", t.typ, t.path)
	}
	b := t.tx.Bucket(boltBucket)
	k, v := storeForm(key, value, t.flags)
	if old := existingKey(b, k, t.flags); old != nil {
		if t.flags&DupReplace == 0 {
			return true, nil
		}
		if err := b.Delete(old); err != nil {
			return true, err
		}
		return true, b.Put(k, v)
	}
	return false, b.Put(k, v)
}

func (t *boltTable) Delete(key string) (bool, error) {
	if t.tx == nil {
		return false, fmt.Errorf("table %s:%s: not opened for writing", t.typ, t.path)
	}
	b := t.tx.Bucket(boltBucket)
	k := []byte(fixedFold(key, t.flags))
	try := [][]byte{append(slices.Clone(k), 0), k}
	switch {
	case t.flags&TryNull1 != 0 && t.flags&TryNull0 == 0:
		try = try[:1]
	case t.flags&TryNull0 != 0 && t.flags&TryNull1 == 0:
		try = try[1:]
	}
	for _, k := range try {
		if b.Get(k) != nil {
			return true, b.Delete(k)
		}
	}
	return false, nil
}

func (t *boltTable) Sequence(fn func(key, value string) bool) error {
	return t.view(func(b *bolt.Bucket) error {
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if !fn(trimNull(string(k)), trimNull(string(v))) {
				break
			}
		}
		return nil
	})
}

func (t *boltTable) Changed() bool { return changedSince(t.path, t.stat) }

func (t *boltTable) Close() error {
	if t.db == nil {
		return nil
	}
	var err error
	if t.tx != nil {
		err = t.tx.Commit()
		t.tx = nil
		if err == nil {
			err = t.db.Sync()
		}
	}
	if e := t.db.Close(); err == nil {
		err = e
	}
	t.db = nil
	if t.tmp != "" {
		if err == nil {
			if err = os.Rename(t.tmp, t.path); err == nil {
				t.tmp = ""
				syncDir(t.path)
			}
		}
		t.dropCopy()
	}
	return err
}

// abort discards the changes of a table opened with Write.
func (t *boltTable) abort() {
	if t.tx != nil {
		t.tx.Rollback()
		t.tx = nil
	}
	if t.db != nil {
		t.db.Close()
		t.db = nil
	}
	t.dropCopy()
}

// boltBuilder collects entries in memory and writes them sorted in one
// transaction into a temporary file that replaces the table at Commit.
type boltBuilder struct {
	typ, name, path string
	flags           OpenFlags
	keys            map[string]int32
	ents            []boltEnt
	inc             *boltTable // -i: update the existing file in place
}

type boltEnt struct{ k, v []byte }

func createBolt(typ, name string, flags OpenFlags) (Builder, error) {
	path := name + boltSuffix(typ)
	b := &boltBuilder{typ: typ, name: name, path: path, flags: flags, keys: map[string]int32{}}
	if flags&Incremental != 0 {
		if _, err := os.Stat(path); err == nil {
			t, err := openBolt(typ, name, flags|Write)
			if err != nil {
				return nil, err
			}
			b.inc = t.(*boltTable)
		}
	}
	return b, nil
}

// Label names the table in duplicate-entry warnings as Postfix does: the
// file for hash and btree (Berkeley DB's name), "lmdb:NAME" for lmdb.
func (b *boltBuilder) Label() string {
	if b.typ == "lmdb" {
		return "lmdb:" + b.name
	}
	return b.path
}

func (b *boltBuilder) Add(key, value string) (bool, error) {
	if b.inc != nil {
		return b.inc.Update(key, value)
	}
	k, v := storeForm(key, value, b.flags)
	if i, dup := b.keys[string(k)]; dup {
		if b.flags&DupReplace != 0 {
			b.ents[i].v = v
		}
		return true, nil
	}
	b.keys[string(k)] = int32(len(b.ents))
	b.ents = append(b.ents, boltEnt{k, v})
	return false, nil
}

func (b *boltBuilder) Commit() error {
	if b.inc != nil {
		err := b.inc.Close()
		b.inc = nil
		return err
	}
	b.keys = nil
	slices.SortFunc(b.ents, func(x, y boltEnt) int { return bytes.Compare(x.k, y.k) })
	tmp, err := createTemp(b.path)
	if err != nil {
		return fmt.Errorf("open database %s: %s", b.path, errText(err))
	}
	tmpName := tmp.Name()
	tmp.Close()
	fail := func(err error) error {
		os.Remove(tmpName)
		return fmt.Errorf("%s: %v", b.path, err)
	}
	size := 1 << 20
	for _, e := range b.ents {
		size += len(e.k) + len(e.v) + 16
	}
	db, err := bolt.Open(tmpName, 0o644, &bolt.Options{NoSync: true, NoGrowSync: true, NoFreelistSync: true,
		FreelistType: bolt.FreelistMapType, InitialMmapSize: size * 2})
	if err != nil {
		return fail(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucket(boltBucket)
		if err != nil {
			return err
		}
		bk.FillPercent = 1.0
		for _, e := range b.ents {
			if err := bk.Put(e.k, e.v); err != nil {
				return err
			}
		}
		return nil
	})
	b.ents = nil
	if err == nil {
		db.NoSync = false
		err = db.Sync()
	}
	if e := db.Close(); err == nil {
		err = e
	}
	if err != nil {
		return fail(err)
	}
	if err := os.Rename(tmpName, b.path); err != nil {
		return fail(err)
	}
	syncDir(b.path)
	return nil
}

func (b *boltBuilder) Abort() {
	if b.inc != nil {
		b.inc.abort()
		b.inc = nil
	}
	b.ents = nil
}

func syncDir(path string) {
	i := strings.LastIndexByte(path, '/')
	dir := "."
	if i >= 0 {
		dir = path[:i+1]
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// AddExact stores key without case folding.
func (b *boltBuilder) AddExact(key, value string) (bool, error) {
	saved := b.flags
	b.flags &^= FoldFixed
	defer func() { b.flags = saved }()
	return b.Add(key, value)
}
