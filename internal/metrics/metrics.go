// Package metrics holds clinicbot's Prometheus metrics on a private
// registry and what feeds them: the router reports every update (Metrics
// implements bot.Metrics), and a booking.Store decorator counts bookings,
// cancellations, failed verifications and store errors. Labels carry no
// personal data: channels, outcomes, services and components only.
package metrics

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/bot"
)

// Metrics is the set of clinicbot's metrics. Its methods are safe for
// concurrent use.
type Metrics struct {
	registry            *prometheus.Registry
	updates             *prometheus.CounterVec
	latency             *prometheus.HistogramVec
	bookings            *prometheus.CounterVec
	cancellations       *prometheus.CounterVec
	failedVerifications prometheus.Counter
	errors              *prometheus.CounterVec
}

// New returns the metrics registered on a new private registry, with the Go
// runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		updates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clinicbot_updates_total",
			Help: "Inbound chat updates handled, by channel and outcome.",
		}, []string{"channel", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "clinicbot_update_duration_seconds",
			Help:    "Time to handle one inbound update, by channel.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"channel"}),
		bookings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clinicbot_bookings_total",
			Help: "Bookings made, by service.",
		}, []string{"service"}),
		cancellations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clinicbot_cancellations_total",
			Help: "Bookings cancelled, by service.",
		}, []string{"service"}),
		failedVerifications: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "clinicbot_failed_verifications_total",
			Help: "Enquiries and cancellations whose verification did not match.",
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clinicbot_errors_total",
			Help: "Unexpected errors, by component.",
		}, []string{"component"}),
	}
	m.registry.MustRegister(
		m.updates, m.latency, m.bookings, m.cancellations, m.failedVerifications, m.errors,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registry returns the private registry, for tests and extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// Observe records one update the router finished: its channel, its
// outcome (bot.OutcomeOK, ...) and how long it took. It implements
// bot.Metrics. An outcome other than ok, duplicate or busy (a newcomer
// asked to come back, by design) also counts as an error of the router.
func (m *Metrics) Observe(channel, outcome string, d time.Duration) {
	m.updates.WithLabelValues(channel, outcome).Inc()
	m.latency.WithLabelValues(channel).Observe(d.Seconds())
	if outcome != bot.OutcomeOK && outcome != bot.OutcomeDuplicate && outcome != bot.OutcomeBusy {
		m.Error("router")
	}
}

// Error records an unexpected error in component ("router", "store",
// "telegram", "whatsapp", ...).
func (m *Metrics) Error(component string) {
	m.errors.WithLabelValues(component).Inc()
}

// WrapStore returns s counting bookings, cancellations, failed
// verifications and unexpected store errors. A replayed idempotent Book or
// a repeated Cancel counts again; the router's deduplication keeps those rare.
func (m *Metrics) WrapStore(s booking.Store) booking.Store {
	return &store{Store: s, m: m}
}

type store struct {
	booking.Store
	m *Metrics
}

func (s *store) Book(ctx context.Context, nb booking.NewBooking) (booking.Booking, error) {
	b, err := s.Store.Book(ctx, nb)
	if err == nil {
		s.m.bookings.WithLabelValues(string(b.Slot.Service)).Inc()
	}
	s.observe(err, false)
	return b, err
}

func (s *store) Verify(ctx context.Context, v booking.Verification) (booking.Booking, error) {
	b, err := s.Store.Verify(ctx, v)
	s.observe(err, true)
	return b, err
}

func (s *store) Cancel(ctx context.Context, v booking.Verification, ref booking.Reference) (booking.Booking, error) {
	b, err := s.Store.Cancel(ctx, v, ref)
	if err == nil {
		s.m.cancellations.WithLabelValues(string(b.Slot.Service)).Inc()
	}
	s.observe(err, true)
	return b, err
}

// observe counts a failed verification (ErrNotFound from Verify or Cancel)
// or an unexpected error.
func (s *store) observe(err error, verifying bool) {
	var ve *booking.ValidationError
	switch {
	case err == nil:
	case verifying && errors.Is(err, booking.ErrNotFound):
		s.m.failedVerifications.Inc()
	case errors.Is(err, booking.ErrNotFound), errors.Is(err, booking.ErrSlotTaken), errors.Is(err, booking.ErrAlreadyBooked),
		errors.Is(err, booking.ErrConflict), errors.Is(err, booking.ErrAppointmentStarted),
		errors.Is(err, booking.ErrSlotUnavailable), errors.Is(err, booking.ErrQuotaFull),
		errors.Is(err, booking.ErrTooManyAttempts), errors.Is(err, booking.ErrBookerLimit),
		errors.As(err, &ve):
		// Expected outcomes: the dialog tells the booker.
	default:
		s.m.Error("store")
	}
}
