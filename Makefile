# Build, test and benchmark the project. See README.md.
GO       ?= go
DESTDIR  ?=
SBIN     ?= /usr/sbin
DAEMONS  ?= /usr/lib/postfix/sbin
CONFDIR  ?= /etc/postfix
QUEUEDIR ?= /var/spool/postfix
# Commands installed in $(SBIN); everything else built goes to $(DAEMONS).
USER_CMDS = postconf postmap postalias newaliases postfix sendmail postdrop postqueue qshape

.PHONY: all build test test-deps lint bench install run fuzz clean

all: build

build:
	@mkdir -p bin
	$(GO) build -o bin/ ./cmd/...
	@ln -sf sendmail bin/mailq

test-deps:
	@sh test/deps.sh

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet ./...
	@sh test/staticcheck.sh

test: test-deps build lint
	$(GO) test -race -shuffle=on -count=1 -parallel 32 ./...

bench: build
	@sh bench/run.sh

fuzz:
	@sh test/fuzz.sh

install: build
	install -d $(DESTDIR)$(SBIN) $(DESTDIR)$(DAEMONS) $(DESTDIR)$(CONFDIR) $(DESTDIR)$(QUEUEDIR)
	for c in bin/*; do n=$$(basename $$c); case $$n in devrun|mailq) continue;; esac; \
	  case " $(USER_CMDS) " in *" $$n "*) install -m 755 $$c $(DESTDIR)$(SBIN)/$$n;; \
	  *) install -m 755 $$c $(DESTDIR)$(DAEMONS)/$$n;; esac; done
	ln -sf sendmail $(DESTDIR)$(SBIN)/mailq
	# postdrop and postqueue are set-gid postdrop, as in Postfix's install.
	if getent group postdrop >/dev/null; then for c in postdrop postqueue; do \
	  chgrp postdrop $(DESTDIR)$(SBIN)/$$c && chmod 2755 $(DESTDIR)$(SBIN)/$$c; done; fi

# make run RUN_DIR=/some/dir puts the private mail system elsewhere.
RUN_DIR ?= run
run: build
	@bin/devrun -base $(RUN_DIR) -bin $(CURDIR)/bin

clean:
	rm -rf bin
