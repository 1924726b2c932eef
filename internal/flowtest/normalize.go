package flowtest

import "regexp"

// Things that differ by nature between two runs: queue IDs, dates, process
// IDs, delays. Each mask keeps the shape of what it hides.
var masks = []struct {
	re   *regexp.Regexp
	with string
}{
	// mbox "From " line date.
	{regexp.MustCompile(`(?m)^(From \S+  )\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$`), "${1}DATE"},
	// ctime dates (postcat, mailq).
	{regexp.MustCompile(`\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d( \d{4})?`), "CTIME"},
	// postcat's size record: the data offset depends on how many digits
	// the arrival time's microseconds have.
	{regexp.MustCompile(`(message_size:\s+\d+\s+)\d+`), "${1}OFFSET"},
	// RFC 5322 dates.
	{regexp.MustCompile(`\w{3}, [ \d]?\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}( \(\w+\))?`), "DATE"},
	// Message-IDs Postfix makes: <YYYYMMDDhhmmss.QUEUEID@host>.
	{regexp.MustCompile(`<\d{14}\.[0-9A-Za-z]+@`), "<MSGID@"},
	// Log time stamps and process IDs.
	{regexp.MustCompile(`(?m)^\w{3} [ \d]\d \d\d:\d\d:\d\d(\.\d+)? `), "TIME "},
	{regexp.MustCompile(`\[\d+\]: `), "[PID]: "},
	{regexp.MustCompile(`delay=[\d.]+, delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+`), "delay=D, delays=D"},
	{regexp.MustCompile(`uid=\d+`), "uid=N"},
	// MIME boundaries of bounces: QUEUEID.TIME/host.
	{regexp.MustCompile(`[0-9A-Za-z]+\.\d{10}/`), "BOUNDARY/"},
}

// queueIDs finds queue IDs: short (hex, 10 or more) and long (z-separated base 52).
var queueIDs = regexp.MustCompile(`\b([0-9A-F]{10,}|[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{10,}z[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]+)\b`)

// Normalize masks what differs by nature between two runs of the same
// scenario (dates, process IDs, delays, boundaries); queue IDs become
// QIDA, QIDB, … in order of appearance, so the same ID reads the same
// throughout.
func Normalize(s string) string {
	for _, m := range masks {
		s = m.re.ReplaceAllString(s, m.with)
	}
	ids := map[string]string{}
	s = queueIDs.ReplaceAllStringFunc(s, func(id string) string {
		if n, ok := ids[id]; ok {
			return n
		}
		n := "QID" + string(rune('A'+len(ids)%26))
		ids[id] = n
		return n
	})
	return s
}
