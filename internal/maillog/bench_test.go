package maillog

import "testing"

// BenchmarkInfo logs a typical delivery line into maillog_file.
func BenchmarkInfo(b *testing.B) {
	defer SetExit(SetExit(func(int) {}))
	c, _ := config(b, "")
	Init("discard", c)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Info("%s: to=<%s>, relay=none, delay=%.2g, delays=0/0/0/0, dsn=2.0.0, status=sent (%s)", "4ZxQ1k0Ttnz9sWk", "user@example.com", 0.01, "bench.test")
	}
}
