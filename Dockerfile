# One image for Refundflow's programs: worker, starter and sandbox. The
# compose file picks the program with `command`.
#
#   docker build -t refundflow .
#   docker run --rm refundflow /refundflow/starter

# Build: the Go version of go.mod; static binaries, so the runtime image needs
# no libc.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ ./worker ./starter ./sandbox

# Runtime: distroless, no shell, runs as uid 65532 (nonroot).
FROM gcr.io/distroless/static-debian12:nonroot AS runtime
COPY --from=build /out/ /refundflow/
USER nonroot:nonroot
# The starter's HTTP port; the worker listens on nothing, the sandbox on 8090.
EXPOSE 8080
CMD ["/refundflow/starter"]
