# netcert: certify Kubernetes cluster networking on real kind clusters.
# `make help` lists the targets.

GO ?= go
E2E_TIMEOUT ?= 60m
SUITE ?= smoke
N ?= 10
# The certification issue 13 times: smoke + flannel + calico, every fault.
CERTIFY_SUITES := ./suites/smoke ./suites/flannel ./suites/calico
# What `make soak` runs each time: every suite (./suites/...), or SUITES=certify for CERTIFY_SUITES.
SUITES ?= ./suites/...

.PHONY: help setup uninstall-runtime-wrapper test kernel browser e2e certify suite soak report vet lint clean-clusters

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z0-9-]+:.*## / {printf "  %-15s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: ## (root) install and start Docker, install Chromium, build every image from source; idempotent
	bash images/setup.sh

uninstall-runtime-wrapper: ## (root) undo the set-up's runtime wrapper: Docker's previous default runtime, from /etc/docker/daemon.json.netcert-backup
	bash images/uninstall-runtime-wrapper.sh

test: ## unit tests: no Docker, seconds
	$(GO) test -short ./...

kernel: ## (root) checks, repairs and faults against real network namespaces of this machine
	$(GO) test -count=1 -run RealKernel -v ./doctor

browser: ## render the HTML report in headless Chromium (installed by `make setup`) and check what is visible
	$(GO) test -count=1 -run Chromium -v ./reports

e2e: ## every kind suite, one at a time (needs `make setup`), then the wall time per suite and in total; each writes reports/out/suites/<suite>.*, the log reports/out/e2e.log; NETCERT_KEEP_CLUSTER=1 keeps clusters
	GO=$(GO) E2E_TIMEOUT=$(E2E_TIMEOUT) bash suites/timed.sh reports/out/e2e.log ./suites/...

certify: ## the certification the issue times: smoke + flannel + calico, every fault, then the wall time per suite and in total
	GO=$(GO) E2E_TIMEOUT=$(E2E_TIMEOUT) bash suites/timed.sh reports/out/certify.log $(CERTIFY_SUITES)

suite: ## one kind suite: make suite SUITE=smoke
	GO=$(GO) E2E_TIMEOUT=$(E2E_TIMEOUT) bash suites/timed.sh reports/out/suite-$(SUITE).log ./suites/$(SUITE)

soak: ## every suite (SUITES=certify: the certification of make certify) N times (default 10), each run's reports in reports/out/soak/run-<i>/, then reports/out/soak.{json,md,...} with every case's flake rate; fails if any run failed
	@rm -rf reports/out/soak; mkdir -p reports/out/soak; failed=0; \
	for i in $$(seq 1 $(N)); do \
		start=$$(date +%s); dir=reports/out/soak/run-$$i; mkdir -p $$dir; \
		NETCERT_REPORT_DIR=$(CURDIR)/$$dir GO=$(GO) E2E_TIMEOUT=$(E2E_TIMEOUT) bash suites/timed.sh $$dir/e2e.log $(if $(filter certify,$(SUITES)),$(CERTIFY_SUITES),$(SUITES)) >/dev/null 2>&1 && s=passed || { s=failed; failed=$$((failed + 1)); }; \
		echo "soak: run $$i of $(N) $$s in $$(($$(date +%s) - start))s (log: $$dir/e2e.log)"; sed -n '/^suites: wall time per suite/,$$p' $$dir/e2e.log; \
	done; \
	$(GO) run ./cmd/netcert-report -out reports/out -name soak reports/out/soak/run-*/*.json; \
	echo "soak: $$failed of $(N) run(s) failed"; test $$failed -eq 0

report: ## merge the suites' reports into reports/out/report.{json,junit.xml,html,md}
	$(GO) run ./cmd/netcert-report -in reports/out/suites -out reports/out

vet: ## go vet and gofmt
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)

lint: ## staticcheck and actionlint for the GitHub workflows (Go tools pinned in go.mod)
	$(GO) tool staticcheck ./...
	$(GO) tool actionlint

clean-clusters: ## delete the kind clusters, Docker networks and containers, and kubeconfigs that netcert suites left behind
	$(GO) run ./cmd/netcert clean --machine
