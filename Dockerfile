# Build: docker build -t pbx .   Run: docker run --net=host pbx
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/pbx ./cmd/pbx

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/pbx /usr/local/bin/pbx
WORKDIR /var/lib/pbx
USER nonroot:nonroot
# SIP (UDP and TCP), SIP over TLS, HTTP (health, metrics), RTP range.
EXPOSE 5060/udp 5060/tcp 5061/tcp 8088/tcp 20000-29999/udp
ENTRYPOINT ["/usr/local/bin/pbx", "-data", "/var/lib/pbx/data"]
