# uringnet — `make test` is the full check; `make demo` serves HTTP on io_uring.
GO       ?= go
CC       ?= gcc
BUILD    := build
CSRC     := $(wildcard csrc/*.c)
CTESTS   := $(patsubst tests/c/%.c,$(BUILD)/ctest/%,$(wildcard tests/c/*.c))
# wake needs a second thread to run while the first blocks in io_uring_enter,
# which valgrind's thread serialization does not allow: ASan only.
VGTESTS  := $(filter-out $(BUILD)/vgtest/wake,$(patsubst tests/c/%.c,$(BUILD)/vgtest/%,$(wildcard tests/c/*.c)))
CFLAGS   := -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE -Icsrc
SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
# go/internal/shim #includes csrc/*.c, and go's build cache keys a cgo
# package on the files in its own directory only: an edit to csrc/ alone
# would link the old shim. A checksum of csrc/ in the cgo flags (which the
# cache does key on) makes every go command run from make rebuild it.
CSRC_SUM := $(shell cat $(CSRC) csrc/uringnet.h | cksum | cut -d' ' -f1)
export CGO_CFLAGS ?= -O2 -g -DUN_CSRC_SUM=$(CSRC_SUM)

.PHONY: all deps test ctest cvalgrind vet gotest demo bench bench-go bench-static stress c-echo clean

all: deps c-echo
	$(GO) build ./...

# The pure-C echo server on the shim (examples/c-echo).
c-echo: $(BUILD)/c-echo
$(BUILD)/c-echo: examples/c-echo/echo.c $(CSRC) csrc/uringnet.h | deps
	@mkdir -p $(BUILD)
	$(CC) -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -Icsrc -o $@ $< $(CSRC) -l:liburing.a -lpthread

# liburing-dev from Debian when its header is missing (we run as root in CI).
deps:
	@if ! echo '#include <liburing.h>' | $(CC) -E -x c - >/dev/null 2>&1; then \
		echo "installing liburing-dev"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq liburing-dev; \
	fi

test: deps ctest cvalgrind c-echo vet gotest

# C tests under ASan+UBSan, one program per feature.
ctest: $(CTESTS)
	@tests/c/run.sh $(CTESTS)

$(BUILD)/ctest/%: tests/c/%.c $(CSRC) csrc/uringnet.h tests/c/helpers.h | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANITIZE) -o $@ $< $(CSRC) -l:liburing.a -lpthread

# The same C tests under valgrind memcheck: 0 errors, 0 definitely lost.
cvalgrind: $(VGTESTS)
	@echo "SKIP $(BUILD)/vgtest/wake under valgrind (needs two threads running at once; runs under ASan)"
	@tests/c/run.sh $(foreach t,$(VGTESTS),"valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite $(t)")

$(BUILD)/vgtest/%: tests/c/%.c $(CSRC) csrc/uringnet.h tests/c/helpers.h | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(CSRC) -l:liburing.a -lpthread

vet: deps
	$(GO) vet ./...
	@unformatted=$$(gofmt -l go cmd examples tests); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi

gotest: deps
	tests/gotest.sh -race -count=1 ./...
	@echo "# again with every Read on the ring (a test's few conns would read directly: go/uringnet/direct.go),"
	@echo "# on MPTCP sockets where the kernel has them (Go 1.24 makes net's listeners MPTCP; here dialers too)"
	URINGNET_DIRECT_CONNS=0 GODEBUG=multipathtcp=1 tests/gotest.sh -race -count=1 ./...
	@echo "# with cgocheck2, at GOMAXPROCS 1 (a container limited to one CPU: the loop and the conns share one P)"
	GOMAXPROCS=1 GOEXPERIMENT=cgocheck2 URINGNET_DIRECT_CONNS=0 tests/gotest.sh -count=1 ./...
	cd tests/grpc && ../gotest.sh -race -count=1 ./...
	@echo "# golang.org/x/net/nettest's net.Conn conformance suite on uringnet conns (tests/nettest)"
	cd tests/nettest && ../gotest.sh -race -count=1 ./...

# Serves examples/http on io_uring and drives requests at it.
demo: deps
	$(GO) build -o $(BUILD)/http-example ./examples/http
	$(GO) run ./cmd/demo -server $(BUILD)/http-example

# Long variants of the reliability suite (minutes), a fuzzing run and 30
# runs of the net.Conn conformance suite.
stress: deps
	URINGNET_STRESS=1 $(GO) test -count=1 -timeout 60m -v -run 'Integrity|Duplex|Churn|CloseRaces|ConnOpsRandomized' ./go/uringnet/
	$(GO) test -run XXX -fuzz FuzzConnOps -fuzztime 5000x ./go/uringnet/
	cd tests/nettest && $(GO) test -race -count=30 ./...

# Echo servers uring, std and c side by side (cmd/uringbench, load from the
# C client cmd/uringload): medians of 3 runs at 1, 100, 1000 and 10000
# conns, ratios against std, and
# build/bench.png. BENCH_ARGS adds flags, e.g. BENCH_ARGS="-reps 5" or
# BENCH_ARGS="-modes std,uring,uring+URINGNET_YIELD=0" for an A/B.
BENCH_ARGS ?=
bench: deps c-echo
	$(GO) run ./cmd/uringbench -plot $(BUILD)/bench.png $(BENCH_ARGS)

# go test benchmarks, uring vs std in one run (feed to benchstat), and SEND
# vs SEND_ZC straight through liburing (why the engine uses SEND).
bench-go: deps
	$(GO) test -run XXX -bench . -benchtime 2s -count 3 ./go/uringnet/
	@mkdir -p $(BUILD)
	$(CC) -O2 -D_GNU_SOURCE -Icsrc -o $(BUILD)/sendzc tests/bench/sendzc.c -l:liburing.a -lpthread
	$(BUILD)/sendzc 512 1024
	$(BUILD)/sendzc 512 64

# Static binaries (liburing and libc linked in) for machines without Go or
# liburing: build/dev/{echo,c-echo,uringload} plus tests/bench/scale.sh.
bench-static: deps
	@mkdir -p $(BUILD)/dev
	CGO_ENABLED=1 $(GO) build -tags netgo,osusergo -ldflags '-extldflags "-static"' -o $(BUILD)/dev/echo ./examples/echo
	$(CC) -O2 -static -D_GNU_SOURCE -Icsrc -o $(BUILD)/dev/c-echo examples/c-echo/echo.c $(CSRC) -l:liburing.a -lpthread
	$(CC) -O2 -Wall -Wextra -Werror -pthread -static -o $(BUILD)/dev/uringload cmd/uringload/uringload.c
	cp tests/bench/scale.sh $(BUILD)/dev/

clean:
	rm -rf $(BUILD)
