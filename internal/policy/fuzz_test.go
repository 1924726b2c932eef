package policy

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzReadReply feeds arbitrary server replies to the reply reader: it
// must never panic, and an action it returns is one line of the input.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{
		"action=DUNNO\n\n",
		"action=DEFER_IF_PERMIT Greylisted, see http://postgrey.schweikert.ch/help/example.html\n\n",
		"foo=bar\naction=OK\nbaz=1\n\n",
		"action=\n\n",
		"action\n\n",
		"result=ok\n\n",
		"action=REJECT",
		"\n",
		"",
		"=x\n\n",
		"action=a\naction=b\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		action, err := readReply(bytes.NewReader(data), "fuzz")
		if err != nil {
			if action != "" {
				t.Errorf("error %v with action %q", err, action)
			}
			return
		}
		if strings.Contains(action, "\n") || !bytes.Contains(data, []byte("action="+action+"\n")) {
			t.Errorf("action %q not a line of %q", action, data)
		}
	})
}
