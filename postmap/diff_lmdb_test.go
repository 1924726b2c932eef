package postmap_test

import (
	"math/rand/v2"
	"testing"
)

// TestDiffLMDB: each program builds its own lmdb: table from the same
// source (the files differ on purpose, see doc/DIFFERENCES.md); queries,
// listings, deletions and incremental updates must then agree.
func TestDiffLMDB(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	src := genSource(r, 200)
	keys := queryKeys(src)
	files := map[string]string{"main.cf": "myhostname = test.example\n", "src": src}
	runBoth(t, files, []step{
		{args: []string{"lmdb:src"}},
		{args: []string{"-q", "-", "lmdb:src"}, stdin: keys},
		{args: []string{"-s", "lmdb:src"}, sorted: true},
		{args: []string{"-i", "lmdb:src"}, stdin: "new1 v1\nnew1 dup\n"},
		{args: []string{"-d", "new1", "lmdb:src"}},
		{args: []string{"-d", "new1", "lmdb:src"}},
		{args: []string{"-q", "-", "lmdb:src", "hash:src"}, stdin: keys},
		{args: []string{"-N", "lmdb:src"}},
		{args: []string{"-n", "-q", "-", "lmdb:src"}, stdin: keys},
		{args: []string{"-s", "lmdb:src"}, sorted: true},
	})
}
