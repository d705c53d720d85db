# pmtr — build, test and install. A fresh machine needs only node, npm, make and git:
# `npm ci` brings bun itself (a devDependency), and bun builds the one binary.

PREFIX  ?= /usr
DESTDIR ?=
BUN     := node_modules/.bin/bun
SOURCES := $(shell find src -name '*.ts' -o -name '*.c') package.json
BUILD_FLAGS := --compile --minify --bytecode --format=esm \
	--no-compile-autoload-dotenv --no-compile-autoload-bunfig

.PHONY: all run test clean install uninstall bench

all: dist/pmtr

# The stamp keeps `make` from re-running npm ci on every build.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@$(BUN) --version >/dev/null 2>&1 || node node_modules/bun/install.js
	@touch $@

# Built to a temporary name and renamed, so a test running the old binary never sees half a file.
dist/pmtr: node_modules/.installed $(SOURCES)
	@mkdir -p dist
	$(BUN) build $(BUILD_FLAGS) src/main.ts --outfile dist/pmtr.tmp
	@mv dist/pmtr.tmp dist/pmtr

run: dist/pmtr
	dist/pmtr -F -v -c examples/pmtr.conf

# --timeout here, not in bunfig.toml: bun 1.4 ignores [test] timeout there, and a
# setDefaultTimeout in a preload holds for the first test file only.
test: dist/pmtr
	$(BUN) test --timeout 30000

bench: dist/pmtr
	@for b in test/bench/*.ts; do echo "== $$b"; $(BUN) run $$b || exit 1; done

# The reliability suite (docs/RELIABILITY.md): fuzzing, reload storms, churn, faults; as root.
# Short form (~80 s) unless RELIABILITY_LONG=1. Its files are *.rel.ts, so `make test` does not
# run them. The churn test mostly waits on its jobs, so it runs beside the others in a second
# bun; its output follows theirs.
.PHONY: reliability
RELIABILITY_CHURN := test/reliability/churn.rel.ts
RELIABILITY_REST := $(filter-out $(RELIABILITY_CHURN),$(wildcard test/reliability/*.rel.ts))
reliability: dist/pmtr
	@churn_log=$$(mktemp); \
	$(BUN) test --timeout 60000 ./$(RELIABILITY_CHURN) > $$churn_log 2>&1 & churn=$$!; \
	$(BUN) test --timeout 60000 $(addprefix ./,$(RELIABILITY_REST)); rest=$$?; \
	wait $$churn; churn=$$?; cat $$churn_log; rm -f $$churn_log; \
	[ $$rest -eq 0 ] && [ $$churn -eq 0 ]

clean:
	rm -rf dist

# The binary, the man pages, and the init files under share/pmtr/ (README: how to enable
# each). The init files name /usr/bin/pmtr; for another PREFIX they are rewritten to match.
INIT_FILES := systemd/pmtr.service upstart/pmtr.conf sysvinit/pmtr
install: dist/pmtr
	install -D -m 0755 dist/pmtr $(DESTDIR)$(PREFIX)/bin/pmtr
	install -D -m 0644 docs/man/pmtr.8 $(DESTDIR)$(PREFIX)/share/man/man8/pmtr.8
	install -D -m 0644 docs/man/pmtr.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/pmtr.conf.5
	@for f in $(INIT_FILES); do \
		mode=0644; [ -x $$f ] && mode=0755; \
		echo "install $$f $(DESTDIR)$(PREFIX)/share/pmtr/$$f"; \
		install -d $(DESTDIR)$(PREFIX)/share/pmtr/$$(dirname $$f) && \
		sed 's|/usr/bin/pmtr|$(PREFIX)/bin/pmtr|g' $$f > $(DESTDIR)$(PREFIX)/share/pmtr/$$f && \
		chmod $$mode $(DESTDIR)$(PREFIX)/share/pmtr/$$f || exit 1; \
	done

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/pmtr
	rm -f $(DESTDIR)$(PREFIX)/share/man/man8/pmtr.8 $(DESTDIR)$(PREFIX)/share/man/man5/pmtr.conf.5
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/share/pmtr/,$(INIT_FILES))
	rmdir $(addprefix $(DESTDIR)$(PREFIX)/share/pmtr/,$(sort $(dir $(INIT_FILES)))) $(DESTDIR)$(PREFIX)/share/pmtr 2>/dev/null || true
