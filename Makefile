# The project's commands. Every target installs what it needs first, so they work on a
# bare machine with a Rust toolchain and python3 + pip.
CARGO ?= cargo
RECALL := ./target/release/recall

.PHONY: setup build demo test lint ci bench quality fuzz inspector

## setup: fetch ONNX Runtime and the embedding models into the model cache, and make the
## venv of the MCP test client (.venv); each a no-op when already there
setup:
	bash scripts/fetch-model.sh
	bash scripts/setup-python.sh >/dev/null

build:
	$(CARGO) build --release

## demo: index the bundled example vault and run a search
demo: setup build
	$(RECALL) --index index index examples/vault
	$(RECALL) --index index search "levain hydration"

## test: unit and integration tests (integration tests run the real binary on real vaults)
test: setup
	$(CARGO) test --release

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --all-targets -- -D warnings
	$(CARGO) clippy --release --lib --no-default-features -- -D warnings
	python3 scripts/check-layers.py
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --release --no-deps --lib

## inspector: the official MCP Inspector's CLI (installed by the script, from npm) lists the
## tools, resources and the prompt over stdio and /mcp
inspector: build
	bash scripts/inspector-check.sh

## ci: what .ci/run does (its inspector check runs on the binary `make test` built)
ci: lint test
	bash scripts/inspector-check.sh
	python3 scripts/fidelity-multilingual.py --sample 24 >/dev/null

## bench: latency, update and freshness timings; HNSW recall and embedding throughput (printed)
bench: setup build
	bash benches/latency.sh --write
	bash benches/update.sh --write
	ONLY=scifact-plain bash benches/quality.sh  # builds the SciFact index the next two use, once
	RECALL_BENCH_INDEX=$${BENCH_DIR:-/tmp/recall-bench}/index/scifact-plain $(CARGO) bench --bench hnsw_recall
	RECALL_BENCH_VAULT=$${BENCH_DIR:-/tmp/recall-bench}/vaults/scifact-plain/vault $(CARGO) bench --bench embed_throughput

## quality: ranking quality, strength prior and related-notes tables; written to BENCHMARKS.md
quality: setup build
	bash benches/quality.sh --write
	bash benches/related.sh --write

## fuzz: a million generated notes through the parser
fuzz:
	bash scripts/fuzz.sh --write
