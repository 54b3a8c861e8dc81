# The README's two commands are `make run` and `make test`.
GO ?= go

.PHONY: run test bench fuzz vet

run:
	$(GO) run ./cmd/pbx

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 15m ./...

bench:
	$(GO) test -run XXX -bench . -benchmem ./media/ ./sip/ ./dialog/ ./wav/ ./recordings/
	bench/run.sh

# Each fuzz target for a short while; the corpus seeds live in testdata/fuzz.
fuzz:
	$(GO) test -run XXX -fuzz FuzzRTPInput -fuzztime 30s ./media/
	$(GO) test -run XXX -fuzz FuzzRTCPInput -fuzztime 30s ./media/
	$(GO) test -run XXX -fuzz FuzzSDP -fuzztime 30s ./sip/
	$(GO) test -run XXX -fuzz FuzzDigestCredentials -fuzztime 30s ./sip/
	$(GO) test -run XXX -fuzz FuzzParse -fuzztime 30s ./config/
	$(GO) test -run XXX -fuzz FuzzDialplan -fuzztime 30s ./dialog/
	$(GO) test -run XXX -fuzz FuzzInfoDTMF -fuzztime 30s ./sip/
	$(GO) test -run XXX -fuzz FuzzReferTo -fuzztime 30s ./sip/
	$(GO) test -run XXX -fuzz FuzzTelephoneEvents -fuzztime 30s ./media/
	$(GO) test -run XXX -fuzz FuzzDecode -fuzztime 30s ./wav/
	$(GO) test -run XXX -fuzz FuzzRequest -fuzztime 30s ./rwi/
	$(GO) test -run XXX -fuzz FuzzSIPTarget -fuzztime 30s ./dialog/
	$(GO) test -run XXX -fuzz FuzzCutBody -fuzztime 30s ./dialog/
	$(GO) test -run XXX -fuzz FuzzFrame -fuzztime 30s ./agentrpc/
	$(GO) test -run XXX -fuzz FuzzParseNumbers -fuzztime 30s ./campaign/
	$(GO) test -run XXX -fuzz FuzzParseContacts -fuzztime 30s ./campaign/
	$(GO) test -run XXX -fuzz FuzzInput -fuzztime 30s ./eccp/
