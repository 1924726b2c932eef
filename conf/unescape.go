package conf

import "strings"

// Unescape decodes the C-style escapes Postfix accepts in parameters that
// hold byte sets (smtpd_expansion_filter, message_reject_characters,
// message_strip_characters): \a \b \f \n \r \t \v, up to three octal
// digits (\0, \177), and a backslash before any other byte stands for that
// byte. A backslash at the very end is kept as it is.
func Unescape(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b = append(b, c)
			continue
		}
		i++
		switch d := s[i]; d {
		case 'a':
			b = append(b, '\a')
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'v':
			b = append(b, '\v')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			n, j := 0, i
			for ; j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7'; j++ {
				n = n*8 + int(s[j]-'0')
			}
			b = append(b, byte(n))
			i = j - 1
		default:
			b = append(b, d)
		}
	}
	return string(b)
}
