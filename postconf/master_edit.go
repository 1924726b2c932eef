package postconf

// master.cf edits: -Me, -MX, -M#, -Fe, -Pe and -PX. Each request names a
// service/type; the file is rewritten in one go (see conf.MasterFile.Edit)
// and replaced atomically.

import (
	"errors"
	"strings"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/msg"
)

// masterEdit is one edit request.
type masterEdit struct {
	arg          string
	service, typ string
	member       string // field or parameter name (-F, -P)
	value        string
	hasValue     bool
	newArgv      []string // -Me: the new entry
	matched      bool
}

func editMaster(o *Options, mode byte) int {
	reqs := parseMasterEdits(o, mode)
	path := conf.FilePath(o.ConfigDir, "master.cf")
	if _, err := conf.ReadMain(conf.FilePath(o.ConfigDir, "main.cf")); err != nil {
		loadTable(o, true) // dies with Postfix's message about main.cf
	}
	mf, err := conf.ReadMaster(path)
	if err != nil {
		var me *conf.MasterError
		if errors.As(err, &me) {
			msg.Fatal("%s", me.Msg)
		}
		msg.Fatal("open %s for reading: %s", path, masterErrText(err))
	}
	replaced := map[*masterEdit]bool{}
	decide := func(idx int, service, typ string) (conf.MasterEditAction, string) {
		e := mf.Entries[idx]
		switch {
		case mode == 'M' && o.Delete:
			for _, r := range reqs {
				if r.service == service && r.typ == typ {
					return conf.EditDelete, ""
				}
			}
		case mode == 'M' && o.Comment:
			for _, r := range reqs {
				if r.service == service && r.typ == typ {
					return conf.EditComment, ""
				}
			}
		case mode == 'M':
			for _, r := range reqs {
				if (r.service == service && r.typ == typ) || (r.newArgv[0] == service && r.newArgv[1] == typ) {
					r.matched = true
					if replaced[r] {
						return conf.EditDelete, ""
					}
					replaced[r] = true
					return conf.EditReplace, conf.FormatMaster(r.newArgv, true)
				}
			}
		default:
			argv := e.Argv()
			hit := false
			for _, r := range reqs {
				if r.service != e.Service || r.typ != e.Type {
					continue
				}
				hit, r.matched = true, true
				argv = applyMasterEdit(mode, r, argv)
			}
			if hit {
				return conf.EditRewrite, conf.FormatMaster(argv, true)
			}
		}
		return conf.EditKeep, ""
	}
	var appendText strings.Builder
	data, err := mf.Edit(decide, "")
	if err != nil {
		msg.Fatal("%s", err.Error())
	}
	for _, r := range reqs {
		if mode == 'M' && o.Edit && !r.matched {
			appendText.WriteString(conf.FormatMaster(r.newArgv, true))
		}
		if mode != 'M' && !r.matched {
			msg.Warn("unmatched service_name/type: \"%s\"", r.arg)
		}
	}
	data = append(data, appendText.String()...)
	if err := conf.WriteMasterFile(path, data); err != nil {
		msg.Fatal("write %s: %v", path, err)
	}
	return 0
}

// parseMasterEdits checks the requests as Postfix does before it touches
// the file.
func parseMasterEdits(o *Options, mode byte) []*masterEdit {
	var reqs []*masterEdit
	for _, a := range o.Args {
		r := &masterEdit{arg: a}
		key := a
		if i := strings.IndexByte(a, '='); i >= 0 {
			key, r.value, r.hasValue = a[:i], a[i+1:], true
		}
		key = strings.TrimSpace(key)
		r.value = strings.TrimSpace(r.value)
		parts := splitSlash(key)
		switch mode {
		case 'M':
			if len(parts) != 2 {
				msg.Fatal("-Me, -MX or -M# requires service_name/type")
			}
			if o.Edit {
				if !r.hasValue {
					msg.Fatal("-Me requires service_name/type=value")
				}
				e, warns, err := conf.ParseMasterEntry(r.value)
				for _, w := range warns {
					msg.Warn("%s", w)
				}
				if err != nil {
					if err.Msg == "bad field count" {
						msg.Fatal("bad field count: \"%s\"", a)
					}
					msg.Fatal("%s", err.Msg)
				}
				r.newArgv = e.Argv()
			}
		case 'F':
			if len(parts) != 3 {
				msg.Fatal("-Fe or -FX requires service_name/type/field_name")
			}
			if masterFieldIndex(parts[2]) < 0 {
				msg.Fatal("invalid service attribute name: \"%s\"", parts[2])
			}
			if !r.hasValue {
				msg.Fatal("-Fe requires service_name/type/field_name=value")
			}
		case 'P':
			if len(parts) != 3 {
				msg.Fatal("-Pe or -PX requires service_name/type/parameter")
			}
			if o.Edit && !r.hasValue {
				msg.Fatal("-Pe requires service_name/type/parameter=value")
			}
			if strings.ContainsAny(r.value, " \t\r\n") {
				msg.Fatal("-Pe does not accept whitespace in parameter value")
			}
		}
		r.service, r.typ = parts[0], parts[1]
		if len(parts) > 2 {
			r.member = parts[2]
		}
		reqs = append(reqs, r)
	}
	return reqs
}

// checkMasterFieldValue validates a new field value as master.cf reading
// would.
func checkMasterFieldValue(field, value string) {
	if !conf.ValidMasterField(masterFieldIndex(field), value) {
		msg.Fatal("invalid %s field \"%s\" in \"%s\"", field, value, value)
	}
}

// applyMasterEdit returns argv with one -F or -P request applied.
func applyMasterEdit(mode byte, r *masterEdit, argv []string) []string {
	if mode == 'F' {
		checkMasterFieldValue(r.member, r.value)
		f := masterFieldIndex(r.member)
		if f < 7 {
			out := append([]string(nil), argv...)
			out[f] = r.value
			return out
		}
		e, _, err := conf.ParseMasterEntry("x unix - - - - - " + r.value)
		out := append([]string(nil), argv[:7]...)
		if err != nil || e == nil {
			return append(out, r.value)
		}
		return append(out, e.Argv()[7:]...)
	}
	// -P: find the -o settings among the daemon options.
	end := len(argv)
	var hits []int
	for i := 8; i < len(argv); i++ {
		a := argv[i]
		if a == "" || a[0] != '-' || a == "--" {
			end = i
			break
		}
		if (a == "-" || strings.HasPrefix(a, "-o")) && i+1 < len(argv) {
			if a == "-o" && strings.HasPrefix(argv[i+1], r.member+"=") {
				hits = append(hits, i)
			}
			i++
			if i+1 >= len(argv) {
				end = len(argv)
			}
		}
	}
	out := append([]string(nil), argv...)
	if r.hasValue {
		if len(hits) > 0 {
			for _, h := range hits {
				out[h+1] = r.member + "=" + r.value
			}
			return out
		}
		ins := []string{"-o", r.member + "=" + r.value}
		return append(out[:end], append(ins, argv[end:]...)...)
	}
	for k := len(hits) - 1; k >= 0; k-- {
		h := hits[k]
		out = append(out[:h], out[h+2:]...)
	}
	return out
}
