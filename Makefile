# uringnet — `make test` is the full check; `make demo` serves HTTP on io_uring.
GO       ?= go
CC       ?= gcc
BUILD    := build
CSRC     := $(wildcard csrc/*.c)
CTESTS   := $(patsubst tests/c/%.c,$(BUILD)/ctest/%,$(wildcard tests/c/*.c))
CFLAGS   := -O1 -g -Wall -Wextra -Werror -Icsrc
SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

.PHONY: all deps test ctest vet gotest cgocheck demo bench clean

all: deps
	$(GO) build ./...

# liburing-dev from Debian when its header is missing (we run as root in CI).
deps:
	@if ! echo '#include <liburing.h>' | $(CC) -E -x c - >/dev/null 2>&1; then \
		echo "installing liburing-dev"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq liburing-dev; \
	fi

test: deps ctest vet gotest

# C tests under ASan+UBSan, one program per feature.
ctest: $(CTESTS)
	@tests/c/run.sh $(CTESTS)

$(BUILD)/ctest/%: tests/c/%.c $(CSRC) csrc/uringnet.h tests/c/helpers.h | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANITIZE) -o $@ $< $(CSRC) -l:liburing.a -lpthread

vet: deps
	$(GO) vet ./...

gotest: deps
	tests/gotest.sh -race -count=1 ./...
	GOEXPERIMENT=cgocheck2 tests/gotest.sh -count=1 ./...

# Serves examples/http on io_uring and drives requests at it.
demo: deps
	$(GO) build -o $(BUILD)/http-example ./examples/http
	$(GO) run ./cmd/demo -server $(BUILD)/http-example

bench: deps
	$(GO) run ./cmd/uringbench

clean:
	rm -rf $(BUILD)
