package master

import (
	"fmt"
	"path/filepath"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/maillog"
)

// configure reads master.cf and (re)builds the services. On the first call
// a listener that cannot be created is an error; on reload it is a warning
// and the service is skipped.
func (m *Master) configure(initial bool) error {
	path := filepath.Join(m.cfgDir, "master.cf")
	mf, err := conf.ReadMaster(path)
	if mf != nil {
		for _, w := range mf.Warnings {
			maillog.Warn("%s", w)
		}
	}
	if err != nil {
		if me, ok := err.(*conf.MasterError); ok {
			return fmt.Errorf("%s", me.Msg)
		}
		return fmt.Errorf("open %s: %s", path, errText(err))
	}
	fresh := buildServices(m.cfg, mf, m.verbose, m.fg, m.warned)
	old := map[string]*service{}
	for _, s := range m.services {
		old[s.key()] = s
	}
	var keep []*service
	for _, s := range fresh {
		if o := old[s.key()]; o != nil && o.identity() == s.identity() {
			// Same listeners: take them over, so that no client is
			// refused across the reload.
			s.fds, o.fds = o.fds, nil
			delete(old, s.key())
			m.stopService(o, false)
		} else if err := listen(s, m.own); err != nil {
			if initial {
				return err
			}
			maillog.Warn("service %s: %v -- skipping this service", s.key(), err)
			continue
		}
		keep = append(keep, s)
	}
	for _, o := range old {
		m.stopService(o, true)
	}
	m.services = keep
	for _, s := range keep {
		s.poller = newPoller(s.fds)
		go s.poller.run(s, m.events)
		m.rearm(s)
		if s.wakeup > 0 && s.typ != "unix-dgram" {
			m.wake(s, true)
		}
	}
	return nil
}

// stopService ends the supervision of s: its poller stops, its listeners
// close (unless taken over) and its processes are retired, or killed when
// the service is gone from master.cf.
func (m *Master) stopService(s *service, kill bool) {
	if s.poller != nil {
		s.poller.shutdown()
		s.poller = nil
	}
	closeAll(s.fds)
	s.fds = nil
	m.retire(s, kill)
}

// reload re-reads main.cf and master.cf (SIGHUP).
func (m *Master) reload() {
	c, err := conf.Load(m.cfgDir)
	if err != nil {
		maillog.Warn("reload: %v -- keeping the running configuration", err)
		return
	}
	m.cfg = c
	maillog.Init("master", c)
	maillog.Info("reload -- version %s, configuration %s", c.Get("mail_version"), m.cfgDir)
	m.gen++
	m.env = childEnv(c, m.cfgDir)
	if err := m.configure(false); err != nil {
		maillog.Warn("reload: %v -- keeping the running services", err)
	}
}
