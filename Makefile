# pmtr — build, test and install. A fresh machine needs only node, npm, make and git:
# `npm ci` brings bun itself (a devDependency), and bun builds the one binary.

PREFIX  ?= /usr
DESTDIR ?=
BUN     := node_modules/.bin/bun
SOURCES := $(shell find src -name '*.ts' -o -name '*.c') package.json Makefile
# --splitting: each `await import()` target (client, daemon, -t) becomes its own chunk inside the
# binary, parsed only when imported: `pmtr --version` and `pmtr status` peak ~7 MB lower
# (docs/PERFORMANCE.md, Memory).
BUILD_FLAGS := --compile --minify --bytecode --splitting --format=esm \
	--no-compile-autoload-dotenv --no-compile-autoload-bunfig

.PHONY: all run test clean install uninstall bench dist deb

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

# ---- release artifacts (README "Install"): never strip them, a stripped pmtr is plain bun ----

VERSION := $(shell sed -n 's/^  "version": "\(.*\)",$$/\1/p' package.json)
DIST_ARCHES := x64 arm64
DIST_BINARIES := $(foreach a,$(DIST_ARCHES),dist/pmtr-$(VERSION)-linux-$(a))

# One binary per architecture (glibc), with the same flags as dist/pmtr; bun fetches each
# target's runtime from the npm registry once. x64 uses Bun's baseline runtime (x86-64-v2,
# any x64 CPU since 2008): the default one needs AVX2 and dies with SIGILL on older CPUs and on
# VMs with a conservative CPU model, which small hosts often are. It costs ~5 % of start-up.
dist: $(DIST_BINARIES) dist/SHA256SUMS

DIST_TARGET_x64 := bun-linux-x64-baseline
DIST_TARGET_arm64 := bun-linux-arm64
dist/pmtr-$(VERSION)-linux-%: node_modules/.installed $(SOURCES)
	@mkdir -p dist
	$(BUN) build $(BUILD_FLAGS) --target=$(DIST_TARGET_$*) src/main.ts --outfile $@.tmp
	@mv $@.tmp $@

dist/SHA256SUMS: $(DIST_BINARIES)
	cd dist && sha256sum $(notdir $(DIST_BINARIES)) > SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS

# `make deb` (DEB_ARCH=amd64 or arm64; default this machine's): dist/pmtr_VERSION_ARCH.deb with
# dpkg-deb alone, from the files under docs/debian/ (README.Debian there: never strip).
DEB_ARCH ?= $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
DEB_BUN_ARCH = $(if $(filter arm64,$(DEB_ARCH)),arm64,$(if $(filter amd64,$(DEB_ARCH)),x64,$(error DEB_ARCH=$(DEB_ARCH): pmtr is built for amd64 and arm64 only)))
DEB := dist/pmtr_$(VERSION)_$(DEB_ARCH).deb
DEB_ROOT := dist/deb-root-$(DEB_ARCH)
# gzip: xz saves ~12 MiB of 50 but takes 4 times as long; tests that only look inside use none.
DEB_COMPRESSION ?= gzip
DEB_FILES := $(wildcard docs/debian/*) docs/completion/pmtr.bash docs/man/pmtr.8 docs/man/pmtr.conf.5 \
	examples/pmtr.conf systemd/pmtr.service sysvinit/pmtr
deb: $(DEB)

$(DEB): dist/pmtr-$(VERSION)-linux-$(DEB_BUN_ARCH) $(DEB_FILES)
	@head -1 docs/debian/changelog | grep -q '^pmtr ($(VERSION))' || \
		{ echo "docs/debian/changelog: its first entry is not version $(VERSION) (package.json): add an entry for it" >&2; exit 1; }
	rm -rf $(DEB_ROOT) && mkdir -p $(DEB_ROOT)/DEBIAN
	@# `install` without -s: the binary is copied as it is (never stripped).
	install -D -m 0755 $< $(DEB_ROOT)/usr/bin/pmtr
	install -D -m 0644 systemd/pmtr.service $(DEB_ROOT)/lib/systemd/system/pmtr.service
	install -D -m 0755 sysvinit/pmtr $(DEB_ROOT)/etc/init.d/pmtr
	install -D -m 0644 docs/completion/pmtr.bash $(DEB_ROOT)/usr/share/bash-completion/completions/pmtr
	install -D -m 0644 examples/pmtr.conf $(DEB_ROOT)/usr/share/doc/pmtr/examples/pmtr.conf
	install -D -m 0644 docs/debian/copyright $(DEB_ROOT)/usr/share/doc/pmtr/copyright
	install -D -m 0644 docs/debian/README.Debian $(DEB_ROOT)/usr/share/doc/pmtr/README.Debian
	install -D -m 0644 docs/debian/lintian-overrides $(DEB_ROOT)/usr/share/lintian/overrides/pmtr
	install -D -m 0644 docs/man/pmtr.8 $(DEB_ROOT)/usr/share/man/man8/pmtr.8
	install -D -m 0644 docs/man/pmtr.conf.5 $(DEB_ROOT)/usr/share/man/man5/pmtr.conf.5
	install -m 0644 docs/debian/changelog $(DEB_ROOT)/usr/share/doc/pmtr/changelog
	gzip -9n $(DEB_ROOT)/usr/share/man/man8/pmtr.8 $(DEB_ROOT)/usr/share/man/man5/pmtr.conf.5 \
		$(DEB_ROOT)/usr/share/doc/pmtr/changelog
	install -m 0755 docs/debian/postinst docs/debian/prerm docs/debian/postrm $(DEB_ROOT)/DEBIAN/
	echo /etc/init.d/pmtr > $(DEB_ROOT)/DEBIAN/conffiles
	sed -e 's/@VERSION@/$(VERSION)/' -e 's/@ARCH@/$(DEB_ARCH)/' \
		-e "s/@SIZE@/$$(du -sk --exclude=DEBIAN $(DEB_ROOT) | cut -f1)/" docs/debian/control > $(DEB_ROOT)/DEBIAN/control
	cd $(DEB_ROOT) && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum > DEBIAN/md5sums
	dpkg-deb --root-owner-group -Z$(DEB_COMPRESSION) --build $(DEB_ROOT) $@.tmp
	@mv $@.tmp $@ && rm -rf $(DEB_ROOT)

# A control socket of its own (not /run/pmtr.sock), so a pmtr already running on the host is
# neither refused nor touched: dist/pmtr -s dist/run.sock status, from another terminal.
run: dist/pmtr
	dist/pmtr -F -v -c examples/pmtr.conf -s dist/run.sock

# --timeout here, not in bunfig.toml: bun 1.4 ignores [test] timeout there, and a
# setDefaultTimeout in a preload holds for the first test file only.
test: dist/pmtr
	$(BUN) test --timeout 30000

bench: dist/pmtr
	@for b in test/bench/*.ts; do echo "== $$b"; $(BUN) run $$b || exit 1; done

# The reliability suite (docs/RELIABILITY.md): fuzzing, reload storms, churn, faults; as root.
# Short form (~80 s) unless RELIABILITY_LONG=1. Its files are *.rel.ts, so `make test` does not
# run them. The churn and hook-limit tests mostly wait (on their jobs, on a 30 s limit), so they
# run beside the others in a second bun; their output follows theirs.
.PHONY: reliability
RELIABILITY_CHURN := test/reliability/churn.rel.ts test/reliability/hook-limit.rel.ts
RELIABILITY_REST := $(filter-out $(RELIABILITY_CHURN),$(wildcard test/reliability/*.rel.ts))
reliability: dist/pmtr
	@churn_log=$$(mktemp); \
	$(BUN) test --timeout 60000 $(addprefix ./,$(RELIABILITY_CHURN)) > $$churn_log 2>&1 & churn=$$!; \
	$(BUN) test --timeout 60000 $(addprefix ./,$(RELIABILITY_REST)); rest=$$?; \
	wait $$churn; churn=$$?; cat $$churn_log; rm -f $$churn_log; \
	[ $$rest -eq 0 ] && [ $$churn -eq 0 ]

clean:
	rm -rf dist

# The binary, the man pages, the init files under share/pmtr/ (README: how to enable each),
# the example configuration and the bash completion. The init files name /usr/bin/pmtr; for
# another PREFIX they are rewritten to match. The installed binary must name itself pmtr: a
# stripped one is plain bun (never strip pmtr), and install fails loudly rather than leave it.
INIT_FILES := systemd/pmtr.service upstart/pmtr.conf sysvinit/pmtr
EXAMPLE := share/doc/pmtr/examples/pmtr.conf
COMPLETION := share/bash-completion/completions/pmtr
INSTALL_BINARY ?= dist/pmtr
install: $(INSTALL_BINARY)
	install -D -m 0755 $(INSTALL_BINARY) $(DESTDIR)$(PREFIX)/bin/pmtr
	@v=$$($(DESTDIR)$(PREFIX)/bin/pmtr --version 2>&1); case "$$v" in "pmtr "*) ;; *) \
		echo "make install: $(DESTDIR)$(PREFIX)/bin/pmtr --version printed \"$$v\", not \"pmtr VERSION\": the binary was stripped (plain bun) or is damaged; rebuild it with make and never strip it" >&2; \
		exit 1;; esac
	install -D -m 0644 examples/pmtr.conf $(DESTDIR)$(PREFIX)/$(EXAMPLE)
	install -D -m 0644 docs/completion/pmtr.bash $(DESTDIR)$(PREFIX)/$(COMPLETION)
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
	rm -f $(DESTDIR)$(PREFIX)/$(EXAMPLE) $(DESTDIR)$(PREFIX)/$(COMPLETION)
	rmdir $(DESTDIR)$(PREFIX)/share/doc/pmtr/examples $(DESTDIR)$(PREFIX)/share/doc/pmtr 2>/dev/null || true
	rmdir $(addprefix $(DESTDIR)$(PREFIX)/share/pmtr/,$(sort $(dir $(INIT_FILES)))) $(DESTDIR)$(PREFIX)/share/pmtr 2>/dev/null || true
