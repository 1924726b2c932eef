package deliver

import (
	"strconv"
	"time"
)

// FormatDelay formats a non-negative duration the way Postfix prints the
// delay= and delays= fields: values of ten seconds and more as whole
// seconds, values from one to ten seconds with one decimal, and values
// under a second with two significant digits but no more than maxDigits
// decimals (delay_logging_resolution_limit, 0..6). The number is rounded
// half up at the chosen resolution and trailing zeros are dropped; a value
// that rounds to nothing prints as "0".
func FormatDelay(d time.Duration, maxDigits int) string {
	if d < 0 {
		d = 0
	}
	if maxDigits < 0 {
		maxDigits = 0
	}
	if maxDigits > 6 {
		maxDigits = 6
	}
	const million = 1000000
	sec := int64(d / time.Second)
	usec := int64(d%time.Second) / 1000
	const sig = 2 // significant digits for small values
	// res is the smallest step (in microseconds) that is printed.
	res := int64(million / pow10(maxDigits))
	if res < million {
		if sec > 0 {
			// One decimal for each significant digit the seconds leave
			// unused: 1..9 s keep one decimal, 10 s and more none.
			n := int64(1)
			for sec >= n && n <= pow10(sig)/10 {
				n *= 10
			}
			res = million / pow10(sig) * n
		} else {
			for usec >= pow10(sig)*res {
				res *= 10
			}
		}
	}
	if res > 1 {
		usec += res / 2
		if usec >= million {
			sec++
			usec -= million
		}
	}
	out := strconv.AppendInt(nil, sec, 10)
	if usec >= res {
		out = append(out, '.')
		rem := usec
		for n := int64(million / 10); rem >= res && n > 0; n /= 10 {
			out = append(out, byte('0'+rem/n))
			rem %= n
		}
	}
	return string(out)
}

func pow10(n int) int64 {
	p := int64(1)
	for ; n > 0; n-- {
		p *= 10
	}
	return p
}

// delays computes the delay= value and the four delays= parts (before the
// queue manager, in the queue manager, connection set-up, transmission) at
// time now, as Postfix does: a missing time stamp moves the remaining time
// into the stage that was current, and negative differences (a clock that
// went back) count as zero.
func (r *Request) delays(now time.Time) (total, before, inQmgr, setup, xmit time.Duration) {
	if !r.DoneAt.IsZero() {
		now = r.DoneAt
	}
	diff := func(a, b time.Time) time.Duration {
		d := usec(a).Sub(usec(b))
		if d < 0 {
			return 0
		}
		return d
	}
	arrival := r.Arrival
	total = diff(now, arrival)
	switch {
	case r.ActiveAt.IsZero():
		before = diff(now, arrival)
	case r.AgentAt.IsZero():
		before = diff(r.ActiveAt, arrival)
		inQmgr = diff(now, r.ActiveAt)
	default:
		before = diff(r.ActiveAt, arrival)
		inQmgr = diff(r.AgentAt, r.ActiveAt)
		if !r.ConnSetupAt.IsZero() {
			setup = diff(r.ConnSetupAt, r.AgentAt)
			xmit = diff(now, r.ConnSetupAt)
		} else {
			xmit = diff(now, r.AgentAt)
		}
	}
	return
}

// usec drops what a struct timeval cannot hold.
func usec(t time.Time) time.Time {
	return time.Unix(t.Unix(), int64(t.Nanosecond()/1000*1000))
}
