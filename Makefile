# pmtr — build, test and install. A fresh machine needs only node, npm, make and git:
# `npm ci` brings bun itself (a devDependency), and bun builds the one binary.

PREFIX  ?= /usr
DESTDIR ?=
BUN     := node_modules/.bin/bun
SOURCES := $(shell find src -name '*.ts') package.json
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

test: dist/pmtr
	$(BUN) test

bench: dist/pmtr
	@for b in test/bench/*.ts; do echo "== $$b"; $(BUN) run $$b || exit 1; done

clean:
	rm -rf dist

install: dist/pmtr
	install -D -m 0755 dist/pmtr $(DESTDIR)$(PREFIX)/bin/pmtr

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/pmtr
