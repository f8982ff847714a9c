# civicdesk — build, run and test. PocketBase v0.40 needs Go 1.27: the go command
# fetches go1.27.3 from the module proxy when GOTOOLCHAIN=auto (the machine's go.env says local).
export GOTOOLCHAIN := auto

BIN ?= bin/civicdesk
DATA ?= pb_data
HTTP ?= 127.0.0.1:8090

.PHONY: build web-vendor run demo test test-go test-e2e e2e-deps fuzz lint bench clean

# web-vendor copies the web apps' npm libraries into pb_public/ so the binary embeds them
build: web-vendor
	go build -o $(BIN) .

web-vendor:
	./scripts/vendor-web.sh

# the demo city: build, seed (idempotent) and serve, with the payment
# platforms' local fakes beside it (docs/payments.md "Platforms"): the it
# profile takes its fees through pagoPA, the en profile offers GOV.UK Pay
# cards; the keys below are test-mode values the fakes accept, not secrets
PAY_PROFILE := $(or $(CIVICDESK_PAYMENTS),it)
FAKES ?= 127.0.0.1:8091
FAKE_ENV = CIVICDESK_GOVUKPAY_URL=http://$(FAKES)/govukpay CIVICDESK_GOVUKPAY_API_KEY=api_test_demo \
	CIVICDESK_GOVUKPAY_WEBHOOK_SECRETS=demo-govukpay-webhook-secret \
	CIVICDESK_STRIPE_URL=http://$(FAKES)/stripe CIVICDESK_STRIPE_SECRET_KEY=sk_test_demo CIVICDESK_STRIPE_WEBHOOK_SECRETS=whsec_demo \
	CIVICDESK_PAGOPA_GPD_URL=http://$(FAKES)/pagopa CIVICDESK_PAGOPA_API_KEY=demo-gpd-key \
	CIVICDESK_PAGOPA_RECEIPT_TOKEN=demo-pagopa-receipt-token CIVICDESK_PAGOPA_CHECKOUT_URL='http://$(FAKES)/pagopa/pay/{notice}'
PROFILE_ENV_it = CIVICDESK_PAYMENT_RAIL=pagopa CIVICDESK_PAYMENT_SCHEME=iuv
PROFILE_ENV_en = CIVICDESK_CARD_PLATFORM=govukpay
run: build
	$(FAKE_ENV) $(PROFILE_ENV_$(PAY_PROFILE)) $(BIN) demo --dir $(DATA)
	$(FAKE_ENV) $(BIN) payments fake-platforms --http $(FAKES) --server http://$(HTTP) --dir $(DATA) & fakes=$$!; \
	trap "kill $$fakes" EXIT INT TERM; \
	$(FAKE_ENV) $(PROFILE_ENV_$(PAY_PROFILE)) $(BIN) serve --http $(HTTP) --dir $(DATA)

demo: build
	$(BIN) demo --dir $(DATA)

test: build e2e-deps lint test-go fuzz test-e2e

test-go:
	CIVICDESK_BIN=$(abspath $(BIN)) go test -count=1 ./...

e2e-deps:
	./scripts/install-test-deps.sh

test-e2e: build
	cd e2e && CIVICDESK_BIN=$(abspath $(BIN)) npm test

fuzz:
	./scripts/fuzz-short.sh

# staticcheck at a pinned version, fetched through the module proxy
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	go vet ./...
	go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

bench: build
	go run ./bench/records -bin $(abspath $(BIN))

clean:
	rm -rf bin
