package conf

import "testing"

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		"":             "",
		"abc":          "abc",
		`\t\n\r`:       "\t\n\r",
		`\a\b\f\v`:     "\a\b\f\v",
		`\0`:           "\x00",
		`\177x`:        "\x7fx",
		`\1234`:        "S4", // three octal digits at most
		`\8`:           "8",
		`\\`:           `\`,
		`a\`:           `a\`,
		`-=+ _.,/\t\1`: "-=+ _.,/\t\x01",
	} {
		if got := Unescape(in); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", in, got, want)
		}
	}
}
