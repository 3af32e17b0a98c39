# syntax=docker/dockerfile:1
# clinicbot: a static binary on a distroless base, run as a non-root user.
# Build: docker build -t clinicbot .      Run: see compose.yaml.

FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO off: a static binary (modernc.org/sqlite is pure Go). The time-zone
# database is embedded by main (import _ "time/tzdata").
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/clinicbot ./cmd/clinicbot \
 && mkdir -p /out/data

# distroless/static: CA certificates and /etc/passwd with the nonroot user
# (65532), no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/clinicbot /usr/local/bin/clinicbot
# The embedded default's SQLite file and key, and a SQLite WhatsApp device
# store, live here; mount a volume to keep them.
COPY --from=build --chown=65532:65532 /out/data /data
ENV CLINICBOT_DATA_DIR=/data \
    HTTP_ADDR=:8080 \
    LOG_FORMAT=json
USER 65532:65532
EXPOSE 8080
VOLUME ["/data"]
ENTRYPOINT ["/usr/local/bin/clinicbot"]
CMD ["serve"]
